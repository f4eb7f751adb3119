"""Display names and number formats of the two editions."""

import math

import pytest

from tscompress import names
from tscompress.report import ru_plural

NBSP = "\u00a0"


def test_numbers_in_each_editions_format():
    assert names.number(895442, "en", 0) == "895,442"
    assert names.number(895442, "ru", 0) == f"895{NBSP}442"
    assert names.number(0.7251, "ru") == "0,725" and names.number(0.7251, "en") == "0.725"
    assert names.percent(0.569, "ru", 1) == "56,9%" and names.percent(0.5, "en") == "50%"
    assert names.kib(205619, "ru") == f"200,8{NBSP}КиБ" and names.kib(205619, "en") == f"200.8{NBSP}KiB"
    assert names.number(math.nan, "ru") == "—"
    with pytest.raises(ValueError, match="unknown edition"):
        names.number(1.0, "de")


@pytest.mark.parametrize("n, form", [(1, "пример"), (2, "примера"), (4, "примера"), (5, "примеров"),
                                     (11, "примеров"), (12, "примеров"), (14, "примеров"), (21, "пример"),
                                     (22, "примера"), (61, "пример"), (64, "примера"), (91, "пример"),
                                     (111, "примеров"), (0, "примеров")])
def test_russian_plural_agreement_follows_cldr(n, form):
    forms = {"one": "пример", "few": "примера", "many": "примеров"}
    assert names.plural(n, forms, "ru") == form
    assert ru_plural(n, *forms.values()) == form
    assert names.counted(n, forms, "ru") == f"{n} {form}"


def test_english_plural():
    forms = {"one": "variant", "other": "variants"}
    assert names.counted(1, forms, "en") == "1 variant" and names.counted(91, forms, "en") == "91 variants"


@pytest.mark.parametrize("method, setting, removed, en, ru", [
    ("qlora", "r=3, q2 base", None, "QLoRA r = 3, base int2", "QLoRA r = 3, база int2"),
    ("full_ft", "from q4", None, "full fine-tuning from int4", "полное дообучение из int4"),
    ("importance", "75%", 0.5693, "gradient importance 56.9% (nominal 75%)",
     "по важности градиента 56,9% (номинально 75%)"),
    ("magnitude", "50%", 0.4999, "magnitude pruning 50%", "прунинг по модулю 50%"),
    ("lowrank+quantile", "50%+int4", None, "low-rank (SVD) 50% → quantile int4",
     "низкоранговое (SVD) 50% → квантильное int4"),
    ("kl", "alpha=0.5", None, "KL distillation α = 0.5", "KL-дистилляция α = 0,5"),
    ("quantile+codes", "int2", None, "quantile int2 + code fine-tuning", "квантильное int2 + дообучение кодов"),
    ("qdylora", "r=2 of 4", None, "QDyLoRA r = 2 of 4", "QDyLoRA r = 2 из 4"),
])
def test_variant_names_show_no_raw_identifier(method, setting, removed, en, ru):
    row = {"method": method, "setting": setting, "removed": removed, "base": "TimesNet"}
    assert names.variant_name(row, "en") == en
    assert names.variant_name(row, "ru") == ru
    assert names.variant_name(row, "en", base=True) == f"{en} (TimesNet)"
    for text in (names.variant_name(row, "en"), names.variant_name(row, "ru")):
        assert not any(raw in text for raw in ("_", "q2", "q4", "r=", "alpha="))


def test_every_method_has_both_names():
    for method, pair in names.METHOD_NAMES.items():
        assert set(pair) == {"en", "ru"} and all(pair.values()), method


def test_russian_figures_get_decimal_commas_on_their_ticks():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tscompress.plots import localize_figure

    def draw():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0.6, 0.85])
        ax.set_xscale("linear")
        return fig

    ru, en = localize_figure(draw(), "ru"), localize_figure(draw(), "en")
    for fig in (ru, en):
        fig.canvas.draw()
    ru_ticks = [t.get_text() for t in ru.axes[0].get_yticklabels()]
    en_ticks = [t.get_text() for t in en.axes[0].get_yticklabels()]
    assert any("," in t for t in ru_ticks) and not any("." in t for t in ru_ticks)
    assert any("." in t for t in en_ticks)
    plt.close("all")


def test_localize_numbers_leaves_names_versions_and_years_alone():
    text = "int4 fp32 torch 2.13.0, November 2024, 0a2e28e6, r=3, 1e-05"
    assert names.localize_numbers(text, "ru") == text
    assert names.localize_numbers("0.725 [0.662, 0.784]; 895,442", "ru") == f"0,725 [0,662; 0,784]; 895{NBSP}442"


def test_localizing_twice_changes_nothing():
    for text in ["0.725 [0.662, 0.784]; 895,442; p = 1.000; 4,130,123.5; α = 0.5", "1.000 and 0.625"]:
        once = names.localize_numbers(text, "ru")
        assert names.localize_numbers(once, "ru") == once
    assert names.localize_numbers("0,625; 1,000", "ru") == "0,625; 1,000"


def test_finished_figures_have_integer_epoch_ticks_and_a_legend_beside_the_data():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tscompress.plots import finish_figure, label

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3, 4, 5, 6, 7, 8], [0.5, 0.6, 0.62, 0.7, 0.71, 0.7, 0.72, 0.73], label="validation")
    ax.set_xlabel(label("epoch", "ru"))
    ax.tick_params(labelsize=5)
    ax.legend(loc="best")
    finish_figure(fig, "ru")
    fig.canvas.draw()
    xt = ax.get_xticks()
    assert all(float(v).is_integer() for v in xt)
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 7
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1  # outside, to the right: covers no point
    assert any("," in t.get_text() for t in ax.get_yticklabels())
    plt.close("all")


def test_legends_of_several_panels_go_below_the_panels_once():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tscompress.plots import finish_figure

    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="int8")
        ax.plot([0, 1], [1, 0], label="int4")
        ax.legend(loc="best")
    axes[1].plot([0, 1], [0.5, 0.5], label="fp32")
    axes[1].legend(loc="lower right")
    finish_figure(fig, "en")
    fig.canvas.draw()
    assert all(ax.get_legend() is None for ax in axes)
    assert len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["int8", "int4", "fp32"]
    below = fig.legends[0].get_window_extent()
    assert all(below.y1 <= ax.get_window_extent().y0 for ax in axes)
    plt.close("all")


def test_interval_in_each_editions_format():
    assert names.interval(0.7213, 0.607, 0.836, "en") == "0.721 [0.607, 0.836]"
    assert names.interval(0.7213, 0.607, 0.836, "ru") == "0,721 [0,607; 0,836]"
    assert names.interval(None, 0.5, 0.75, "ru", 2) == "[0,50; 0,75]"


def test_a_negative_number_has_a_minus_sign_not_a_hyphen():
    assert names.interval(None, -0.011, 0.011, "ru") == "[\u22120,011; 0,011]"
    assert names.number(-1234.5, "en", 1) == "\u22121,234.5" and names.percent(-0.016, "ru", 1) == "\u22121,6%"
    assert names.localize_numbers("a gap of -0.011, then [-0.5, 0.25]", "ru") == "a gap of \u22120,011, then [\u22120,5; 0,25]"
    assert "-" not in names.localize_numbers("between -2.5 and -1.25", "ru")


def test_a_list_after_a_russian_decimal_is_separated_by_semicolons():
    assert names.localize_numbers("(0.4, 0.3, 0.3)", "ru") == "(0,4; 0,3; 0,3)"
    assert names.localize_numbers("0.761 vs 0.766, 1 case of 205", "ru") == "0,761 vs 0,766; 1 case of 205"
    assert names.localize_numbers("ranks 1, 2, 3", "ru") == "ranks 1, 2, 3"  # integers: a comma is a comma
    assert names.localize_numbers("895,442, 3", "ru") == "895\u00a0442, 3"
    once = names.localize_numbers("p = 0.5, 12 cases", "ru")
    assert once == "p = 0,5; 12 cases" and names.localize_numbers(once, "ru") == once


def test_chapter_names_and_short_numbers():
    assert names.chapter_name("01_sparsification", "ru") == "разреживание"
    assert names.chapter_name("99_new", "en") == "99_new"
    assert [names.short_number(v, "ru") for v in (0.3, 1.0, 0.25)] == ["0,3", "1", "0,25"]


def test_tiny_numbers_are_written_as_powers_of_ten_not_e_notation():
    assert names.scientific(2.7e-7, "en") == "2.7\u00a0×\u00a010\u207b\u2077"
    assert names.scientific(2.7e-7, "ru") == "2,7\u00a0×\u00a010\u207b\u2077" and names.scientific(0.0, "ru") == "0"
    assert names.localize_numbers(names.scientific(1.25e-5, "en", 2), "ru") == names.scientific(1.25e-5, "ru", 2)


def test_and_lists_and_counted_nouns_of_either_edition():
    assert names.and_list([8, 4, 2], "en") == "8, 4 and 2" and names.and_list([8, 4], "ru") == "8 и 4"
    assert names.and_list([8], "ru") == "8"
    assert names.counted(1, names.noun_forms("variant.nom", "en"), "en") == "1 variant"
    assert names.counted(21, names.noun_forms("variant.gen", "ru"), "ru") == "21 варианта"
    assert names.counted(5, names.noun_forms("test_case.nom", "ru"), "ru") == "5 тестовых примеров"
