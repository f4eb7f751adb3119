// Point the edition switch in the announcement bar at the same page of the other edition.
// Layout of a built book: <out>/<lang>/_build/html/book/<lang>/<page>.html
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("a.tscompress-lang").forEach(function (a) {
    var other = a.dataset.other;
    var here = other === "en" ? "ru" : "en";
    var url = window.location.href;
    var marker = "/" + here + "/_build/html/";
    var i = url.indexOf(marker);
    if (i < 0) { return; }
    var rest = url.slice(i + marker.length).split("#")[0];
    rest = rest.replace("book/" + here + "/", "book/" + other + "/");
    a.href = url.slice(0, i) + "/" + other + "/_build/html/" + rest;
  });
});
