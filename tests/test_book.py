"""The smoke profile builds both editions end to end (HTML; the PDF path is exercised in CI)."""

import re
import shutil

import pytest

from conftest import ROOT, SMOKE_DATASETS, tscompress

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_book(smoke_results, tmp_path_factory):
    results, _ = smoke_results
    out = tmp_path_factory.mktemp("book")
    proc = tscompress("book", "--profile", "smoke", "--results-dir", str(results), "--output", str(out), "--reuse",
                      "--datasets", ",".join(SMOKE_DATASETS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc


def _pages(out, lang):
    html = out / lang / "_build" / "html"
    return {p.relative_to(html).as_posix(): p.read_text(encoding="utf-8") for p in html.rglob("*.html")}


def test_both_editions_built_with_every_page(smoke_book):
    out, proc = smoke_book
    for lang in ("ru", "en"):
        pages = _pages(out, lang)
        assert f"book/{lang}/index.html" in pages and f"book/{lang}/00_models.html" in pages
        folder = "nb_ru" if lang == "ru" else "nb"
        assert f"book/_generated/{folder}/00_models.html" in pages  # the appendix: the executed notebook
    assert (out / "index.html").is_file() and "ru/_build/html/index.html" in (out / "index.html").read_text()
    assert "html ru" in proc.stdout and "total" in proc.stdout  # the timing table


def test_russian_edition_is_russian_and_english_is_english(smoke_book):
    out, _ = smoke_book
    ru = _pages(out, "ru")["book/ru/00_models.html"]
    en = _pages(out, "en")["book/en/00_models.html"]
    text_ru = re.sub(r"<[^>]+>", " ", ru)
    assert len(re.findall(r"[а-яА-ЯёЁ]{4,}", text_ru)) > 200  # real Cyrillic chapter text
    assert 'lang="ru"' in ru and 'lang="en"' in en
    assert "Поиск" in ru and "Search" in en  # Sphinx's own labels follow the edition's language
    assert "Модели: три базовые сети" in ru and "Models: three baselines" in en


def test_figures_tables_and_glued_numbers_resolved(smoke_book):
    out, _ = smoke_book
    for lang in ("ru", "en"):
        page = _pages(out, lang)[f"book/{lang}/00_models.html"]
        html = out / lang / "_build" / "html"
        images = re.findall(r'<img[^>]+src="([^"]+)"', page)
        assert len(images) >= 2
        for src in images:
            assert (html / "book" / lang / src).resolve().is_file(), src
        assert page.count("<table") >= 2
        # glued numbers are present as text (the build runs with warnings as errors, so none is missing)
        assert "pasted-text" in page
        assert "glue" not in re.sub(r"<[^>]+>", " ", page).lower()
        # the run manifest on the first page
        index = _pages(out, lang)[f"book/{lang}/index.html"]
        assert "BasicMotions" in index and "smoke" in index


def test_math_is_served_locally(smoke_book):
    out, _ = smoke_book
    html = out / "en" / "_build" / "html"
    page = _pages(out, "en")["book/en/00_models.html"]
    assert "cdn.jsdelivr" not in page and "mathjax/tex-chtml.js" in page
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_missing_result_fails_the_build(smoke_results, tmp_path):
    results, _ = smoke_results
    broken = tmp_path / "smoke"
    shutil.copytree(results, broken)
    (broken / "BasicMotions" / "00_models" / "fig_curves.ru.png").unlink()
    proc = tscompress("book", "--profile", "smoke", "--results-dir", str(broken), "--output", str(tmp_path / "out"),
                      "--reuse", "--lang", "ru", "--datasets", "BasicMotions")
    assert proc.returncode != 0
    assert "build failed" in proc.stderr and "Traceback" not in proc.stderr


def test_edition_switch_works_without_javascript(smoke_book):
    """Every page, chapters and appendix notebooks at any depth, links to the same page of the other edition."""
    out, _ = smoke_book
    folders = {"en": "nb", "ru": "nb_ru"}
    for lang, other in (("ru", "en"), ("en", "ru")):
        html = out / lang / "_build" / "html"
        checked = 0
        for name, page in _pages(out, lang).items():
            if not name.startswith("book/"):
                continue
            hrefs = re.findall(r'<a class="tscompress-lang" href="([^"]+)"', page)
            assert hrefs, name
            target = ((html / name).parent / hrefs[0]).resolve()
            same = name.replace(f"book/{lang}/", f"book/{other}/").replace(f"/{folders[lang]}/", f"/{folders[other]}/")
            assert target == (out / other / "_build" / "html" / same).resolve(), (name, hrefs[0])
            checked += 1
        assert checked >= 14  # seven chapter pages and at least seven appendix notebooks


def test_no_rendered_page_shows_the_build_machines_paths(smoke_book, smoke_results):
    out, _ = smoke_book
    results, _ = smoke_results
    machine = {str(ROOT), str(results.resolve()), str(out.resolve()), str(ROOT.parent)}
    for lang in ("ru", "en"):
        for name, page in _pages(out, lang).items():
            for path in machine:
                assert path not in page, f"{lang}/{name} shows {path}"


def test_comparison_page_in_russian_uses_russian_names_and_numbers(smoke_book):
    from tscompress.names import METHOD_NAMES

    out, _ = smoke_book
    page = _pages(out, "ru")["book/ru/05_comparison.html"]
    article = re.search(r"<article.*?</article>", page, re.S).group(0)  # the chapter, not the theme around it
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", article))
    text = re.sub(r"\b\d+\.\d+\.(?= )", "", text)  # section numbers ("6.2. Таблица")
    text = re.sub(r"(?i)\b(таблиц\w*|рисун\w*)\s+\d+\.\d+", r"\1", text)  # Sphinx's numbers ("Таблица 6.1")
    # English thousands ("895,442"). A Russian decimal such as "0,417" starts with 0; "1,000" is an accuracy or a
    # p-value of one in Russian format (every integer count is grouped with a no-break space there)
    english = [m for m in re.findall(r"(?<![\d,])[1-9]\d{0,2},\d{3}(?!\d)", text) if m != "1,000"]
    assert not english, english
    assert not re.search(r"\b\d+\.\d+\b", re.sub(r"\bint\d\b|\bfp32\b", "", text))  # decimal points
    for raw in [m for m in METHOD_NAMES if "_" in m] + ["q2 base", "from q4", "r=", "alpha="]:
        assert raw not in text, raw
    assert "KiB" not in text



def _russian_text(page):
    article = re.search(r"<article.*?</article>", page, re.S).group(0)
    article = re.sub(r"<(script|style|math).*?</\1>", " ", article, flags=re.S)
    article = re.sub(r"</t[dh]>", " | ", article)  # a number ends its table cell; the next cell is not its noun
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", article))
    text = re.sub(r"\\\(.*?\\\)|\$\$.*?\$\$|\\\[.*?\\\]", " ", text)  # inline and display math
    text = re.sub(r"\b\d+\.\d+\.(?= )", "", text)  # section numbers
    # Sphinx's table/figure numbers ("Рисунок 5.3", "рисунки 5.1 и 5.3")
    text = re.sub(r"(?i)\b(таблиц\w*|рисун\w*)\s+\d+\.\d+(?:\s*(?:,|и)\s*\d+\.\d+)*", r"\1", text)
    return re.sub(r"(?i)\bверси\w*\s+\d+(\.\d+)+", " ", text)  # software versions


def test_every_russian_chapter_page_writes_numbers_the_russian_way(smoke_book):
    out, _ = smoke_book
    en_pages = _pages(out, "en")
    for name, page in _pages(out, "ru").items():
        if not re.match(r"book/ru/0\d_\w+\.html$", name):
            continue
        text = _russian_text(page)
        points = re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", text)  # a decimal point: English format
        # "1,382" is a Russian decimal or an English thousand; it is the latter if the English page shows it
        # too (there a decimal would read "1.382"). Russian thousands are grouped with a no-break space.
        english = re.sub(r"<[^>]+>", " ", en_pages[name.replace("/ru/", "/en/")])
        grouped = [m for m in re.findall(r"(?<![\d,])[1-9]\d{0,2}(?:,\d{3})+(?!\d)", text)
                   if re.search(r"(?<![\d,.])" + re.escape(m) + r"(?![\d.])", english)]
        assert not points and not grouped, (name, points[:5], grouped[:5])
        # in a list, a comma after a Russian decimal ("0,4, 0,3") reads as another decimal comma: "; " separates
        ambiguous = re.findall(r"\d,\d+, \d", text)
        assert not ambiguous, (name, ambiguous[:5])


def test_russian_references_take_the_case_their_preposition_needs(smoke_book):
    """«как на рисунке 2.2», «в таблице 6.4»: never Sphinx's nominative caption word after a preposition
    («на Рисунок 2.2», «в Таблица 6.4»), which a bare {numref} renders."""
    wrong = re.compile(r"(?<![\w-])(?:на|в|во|по|из|к|при|для|от|до)\s+(?:Рисун\w*|Таблиц\w*|таблица)\s+\d",
                       re.IGNORECASE)
    for name, page in _pages(smoke_book[0], "ru").items():
        text = re.sub(r"<[^>]+>", " ", page).replace("\xa0", " ")
        text = re.sub(r"\s+", " ", text)
        found = [m.group(0) for m in wrong.finditer(text)
                 if re.search(r"Рисун|Таблиц", m.group(0)) or m.group(0).split()[-2] == "таблица"]
        assert not found, (name, found[:5])


def test_russian_counted_nouns_agree_with_their_numbers(smoke_book):
    """Every "<integer> <noun>" on a Russian chapter page, for the nouns the glue counts (names.RU_NOUNS),
    has the form that CLDR's plural rules give for that number in one of the noun's grammatical cases."""
    from tscompress.names import RU_NOUNS, plural

    out, _ = smoke_book
    forms: dict[str, list[dict]] = {}
    for variant in RU_NOUNS.values():
        for word in set(variant.values()):
            forms.setdefault(word, []).append(variant)
    words = "|".join(re.escape(w) for w in sorted(forms, key=len, reverse=True))
    pattern = re.compile(r"(?<![\w,.])(\d{1,3}(?:[\u00a0\u202f ]\d{3})*)(?![,.]\d)[\u00a0 ](" + words + r")(?!\w)")
    seen = 0
    for name, page in _pages(out, "ru").items():
        if not re.match(r"book/ru/(0\d_\w+|index)\.html$", name):
            continue
        for number, word in pattern.findall(_russian_text(page)):
            n = int(re.sub(r"\D", "", number))
            seen += 1
            assert any(plural(n, v, "ru") == word for v in forms[word]), f"{name}: «{number} {word}»"
    assert seen >= 10  # the chapters count cases, epochs, parameters, bits and variants


def test_every_further_dataset_has_its_executed_notebooks_and_a_row_on_the_first_page(smoke_book, smoke_results):
    import json

    out, proc = smoke_book
    results, _ = smoke_results
    main, *extra = SMOKE_DATASETS
    for lang, folder in (("ru", "nb_ru"), ("en", "nb")):
        pages = _pages(out, lang)
        index = pages[f"book/{lang}/index.html"]
        for dataset in SMOKE_DATASETS:
            data = next(iter(json.loads((results / dataset / "00_models" / "manifest.json").read_text())["data"].values()))
            row = re.search(r"<tr[^>]*>\s*<td[^>]*>(?:<p>)?" + dataset + r"(?:</p>)?</td>(.*?)</tr>", index, re.S)
            assert row, (lang, dataset)
            cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]
            assert cells[1].replace("\u00a0", "").replace(" ", "").split("/") == [
                str(data["sizes"][k]) for k in ("train", "val", "test")], cells
            assert cells[3] == f"{data['n_channels']} × {data['seq_len']}"
        for dataset in extra:
            for chapter in ("00_models", "05_comparison"):
                page = pages[f"book/_generated/{dataset}/{folder}/{chapter}.html"]
                assert dataset in page
            assert dataset in index  # the table of contents names its appendix part
    assert all(f"{d}/00_models" in proc.stdout for d in SMOKE_DATASETS)


def test_every_chapter_page_has_a_section_per_further_dataset(smoke_book, smoke_results):
    """Heartbeat's role is the first dataset's: each chapter page keeps it as the main thread and adds, for every
    further dataset, a section with that chapter's headline figure (and table), numbers glued from that dataset's
    own notebooks."""
    out, _ = smoke_book
    results, _ = smoke_results
    main, *extra = SMOKE_DATASETS
    heading = {"en": "On {}", "ru": "На датасете {}"}
    for lang in ("ru", "en"):
        html = out / lang / "_build" / "html"
        pages = _pages(out, lang)
        for chapter in ("00_models", "01_sparsification", "02_distillation", "03_quantization", "04_peft",
                        "05_comparison"):
            article = re.search(r"<article.*?</article>", pages[f"book/{lang}/{chapter}.html"], re.S).group(0)
            for dataset in extra:
                assert heading[lang].format(dataset) in article, (lang, chapter, dataset)
                section = article[article.index(heading[lang].format(dataset)):]
                shown = {(html / "book" / lang / src).resolve().read_bytes()
                         for src in re.findall(r'<img[^>]+src="([^"]+)"', section)}
                own = {p.read_bytes() for p in (results / dataset / chapter).glob(f"*.{lang}.png")}
                assert shown and shown <= own, (lang, chapter)  # that dataset's own figures, in the edition's language
                assert "<table" in section and "pasted-text" in section  # its table, its glued numbers
            assert heading[lang].format(main) not in article  # the main dataset is the chapter itself


def test_comparison_tests_the_studys_conclusions_on_every_dataset(smoke_book, smoke_results):
    import pandas as pd

    from tscompress.claims import CLAIMS, VERDICTS

    out, _ = smoke_book
    results, _ = smoke_results
    for lang in ("ru", "en"):
        page = _pages(out, lang)[f"book/{lang}/05_comparison.html"]
        table = re.search(r'<table[^>]*id="compare-table-claims-datasets".*?</table>', page, re.S)
        table = table or re.search(r'id="compare-table-claims-datasets".*?</table>', page, re.S)
        assert table, lang
        head = re.findall(r"<th[^>]*>(.*?)</th>", table.group(0), re.S)
        assert [re.sub(r"<[^>]+>", "", h).strip() for h in head][1:] == list(SMOKE_DATASETS)
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S)[1:]
        assert len(rows) == len(CLAIMS)
        shown = {re.sub(r"<[^>]+>", "", c).strip() for r in rows for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[1:]}
        assert shown <= {v[lang] for v in VERDICTS.values()}, shown
    for dataset in SMOKE_DATASETS:  # each column is that dataset's own claims table
        own = pd.read_csv(results / dataset / "05_comparison" / "claims.csv")
        assert list(own["claim"]) == [c.id for c in CLAIMS]
        assert set(own["verdict"]) <= set(VERDICTS)


def test_a_book_of_one_dataset_renders_without_further_sections(smoke_results, tmp_path):
    results, _ = smoke_results
    proc = tscompress("book", "--profile", "smoke", "--results-dir", str(results), "--output", str(tmp_path / "one"),
                      "--reuse", "--lang", "en", "--datasets", "JapaneseVowels")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = _pages(tmp_path / "one", "en")["book/en/01_sparsification.html"]
    assert "On BasicMotions" not in page and "On JapaneseVowels" not in page
    compare = _pages(tmp_path / "one", "en")["book/en/05_comparison.html"]
    assert "compare-table-claims-datasets" in compare and "JapaneseVowels" in compare


def test_the_pdf_holds_the_chapters_and_leaves_the_executed_notebooks_to_the_html(smoke_book, tmp_path):
    """The LaTeX document (what the PDF is compiled from) drops the appendix of executed notebooks and says where
    they are; the HTML edition keeps them, under a part named after each dataset."""
    import subprocess

    from tscompress.book.localize import LANGS
    from tscompress.preflight import jupyter_book_command

    out, _ = smoke_book
    src = out / "src"
    config, toc = LANGS["en"]
    assert f'caption: "Appendix: executed notebooks on {SMOKE_DATASETS[0]}"' in (src / toc).read_text(encoding="utf-8")
    proc = subprocess.run(jupyter_book_command() + [
        "build", str(src), "--config", str(src / config), "--toc", str(src / toc), "--path-output", str(tmp_path),
        "--builder", "latex", "-W", "--keep-going", "--all"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    tex = (tmp_path / "_build" / "latex" / "tscompress-en.tex").read_text(encoding="utf-8")
    assert "from\\_notebook" not in tex and "import numpy" not in tex  # no notebook's code
    assert "00 · Models: three baselines" not in tex and "the PDF holds the chapters only" in tex
    assert "Pareto" in tex and "appendix of the HTML edition" in tex  # the chapters and the comparison's pointer
    assert tex.count("\\appendix") == 1 and tex.index("\\appendix") < tex.index("{Glossary}")  # not chapter 7
    assert tex.index("Pareto") < tex.index("\\appendix")
    pages = _pages(out, "en")
    assert "the PDF holds the chapters only" not in pages["book/en/index.html"]
    assert "form the appendix, one part per dataset" in pages["book/en/index.html"]
    assert any(page.startswith("book/_generated/nb/") for page in pages)


def test_a_one_seed_build_names_no_seeds_section_and_no_zero_p_value(smoke_book):
    """A sentence that points to a section exists only where the section does (the seeds section is staged only for
    several seeds); a p-value below a thousandth reads "p < 0.001", never "p = 0.000"."""
    out, _ = smoke_book
    for lang, heading in (("en", "Over seeds"), ("ru", "По сидам")):
        for name, page in _pages(out, lang).items():
            assert heading not in page, f"{lang}/{name} names the section {heading!r} of a one-seed build"
            assert not re.search(r"p\s*=\s*0[.,]000", page), f"{lang}/{name} has a zero p-value"


def test_every_chapter_page_opens_with_its_finding_and_ends_with_its_summary(smoke_book, smoke_results):
    """Each chapter page (both editions) states what it found before its first section and ends with a summary,
    both the sentences :mod:`tscompress.findings` computed for that chapter (glued, never typed); the comparison
    chapter opens with its verdict. Every further dataset's section ends with its own."""
    import html
    import json

    out, _ = smoke_book
    results, _ = smoke_results
    words = {"en": ("What this chapter found.", "Summary", "The verdict first.", "In short, on {}."),
             "ru": ("Что показала глава.", "Итоги", "Сначала вывод.", "Итог на {}.")}

    def text(s):
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", s)).replace("\u00a0", " ")).strip()

    def glued(dataset, chapter, key):
        value = json.loads((results / dataset / chapter / "numbers.json").read_text(encoding="utf-8"))[key]
        assert text(value), (dataset, chapter, key)
        return text(value)[:80]

    for lang in ("en", "ru"):
        found, summary, verdict, short = words[lang]
        pages = _pages(out, lang)
        for chapter in ("00_models", "01_sparsification", "02_distillation", "03_quantization", "04_peft",
                        "05_comparison"):
            page = text(pages[f"book/{lang}/{chapter}.html"])
            main, *further = SMOKE_DATASETS
            if chapter == "05_comparison":
                assert verdict in page
            else:
                assert f"{found} {glued(main, chapter, f'finding_{lang}')}" in page, (lang, chapter)
            closing = glued(main, chapter, f"summary_{lang}")
            at = page.index(closing)  # under its heading, after the opening
            assert f" {summary} " in page[:at] and page.index(verdict if chapter == "05_comparison" else found) < at
            for dataset in further:
                keys = ["summary"] if chapter == "05_comparison" else ["finding", "summary"]
                expected = " ".join([short.format(dataset), *(glued(dataset, chapter, f"{k}_{lang}") for k in keys)])
                assert page.index(short.format(dataset), at) > at, (lang, chapter, dataset)
                assert all(glued(dataset, chapter, f"{k}_{lang}") in page[at:] for k in keys), (lang, chapter, dataset)
                assert expected[:40] in page, (lang, chapter, dataset)


def test_the_russian_appendix_shows_the_notebooks_lines_in_russian(smoke_book):
    """What the chapter notebooks print (Chapter.say) reads in each edition's words in its appendix: the English
    lines never in the Russian copies, and no print left outside that mechanism (stream outputs)."""
    import html as htmllib

    out, _ = smoke_book
    for chapter in ("00_models", "01_sparsification", "02_distillation", "03_quantization", "04_peft",
                    "05_comparison"):
        ru = htmllib.unescape(_pages(out, "ru")[f"book/_generated/nb_ru/{chapter}.html"])
        en = htmllib.unescape(_pages(out, "en")[f"book/_generated/nb/{chapter}.html"])
        assert "устройство cpu" in ru or chapter == "05_comparison", chapter
        for english in ("[95% CI", "best epoch", "device cpu", " seed 0:", "variants from"):
            assert english not in ru, (chapter, english)
        assert "[95% CI" in en or chapter == "05_comparison", chapter
        assert 'class="output stream' not in ru and 'class="output stream' not in en, chapter
