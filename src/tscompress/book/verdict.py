"""What the book as a whole found, for its first page: per dataset, the fp32 TimesNet against the majority-class rate,
how many compressed variants differ from their baseline, and how the study's conclusions fared, all read from the
chapters' results and phrased from the edition's phrase table."""

from __future__ import annotations

from pathlib import Path

from .. import phrases
from ..claims import VERDICTS
from ..names import RU_NOUNS, counted, localize_numbers
from ..results import read_json

TEXT = phrases.table("book_verdict")


def _t(key: str, lang: str, **values: object) -> str:
    return TEXT[key][lang].format(**values)


def _claims(folder: Path, lang: str) -> str:
    import pandas as pd

    path = folder / "05_comparison" / "claims.csv"
    if not path.is_file():
        return ""
    verdicts = pd.read_csv(path)["verdict"].value_counts()
    parts = [_t("claims_item", lang, verdict=VERDICTS[v][lang], n=int(n)) for v, n in verdicts.items() if v in VERDICTS]
    return _t("claims", lang, n=int(verdicts.sum()), items="; ".join(parts))


def dataset_sentences(dataset: str, folder: Path, lang: str) -> str:
    """Two or three sentences on one dataset; empty when its models chapter has not run."""
    models = folder / "00_models" / "numbers.json"
    if not models.is_file():
        return ""
    m = read_json(models)
    n_test = int(m["n_test"])
    cases = counted(n_test, RU_NOUNS["test_case.prep"], lang) if lang == "ru" else f"{n_test} test cases"
    text = _t("base", lang, dataset=dataset, acc=m["timesnet_acc"], ci=m["timesnet_ci"], cases=cases,
              verdict=m[f"timesnet_verdict_{lang}"])
    comparison = folder / "05_comparison" / "numbers.json"
    if comparison.is_file():
        c = read_json(comparison)
        tested = int(c["n_tested"])
        of = counted(tested, RU_NOUNS["variant.gen"], lang) if lang == "ru" else f"{tested}"
        text += " " + _t("variants", lang, of=of, n=int(c["n_significant"]))
        claims = _claims(folder, lang)
        if claims:
            text += " " + claims
    return localize_numbers(text, lang)


def verdict_markdown(folders: dict[str, Path], lang: str) -> str:
    """The first page's section on what the book found, one paragraph per dataset (the book's order)."""
    paragraphs = [s for s in (dataset_sentences(d, f, lang) for d, f in folders.items()) if s]
    if not paragraphs:
        return ""
    return "\n\n".join([f"```{{rubric}} {_t('heading', lang)}\n```", *paragraphs]) + "\n"
