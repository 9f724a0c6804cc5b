"""Server-rendered SVG charts: escaping, gaps, table alternative, determinism."""

import re
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.template.loader import render_to_string

from apps.core import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(str(svg))  # noqa: S314 - our own output, not untrusted input


def _line(**overrides):
    kwargs = {
        "caption": "Net Promoter Score",
        "x_labels": ["Jan", "Feb", "Mar", "Apr"],
        "series": [
            charts.Series("NPS", [Decimal("10.5"), None, 20, 30]),
            charts.Series("CSAT", [80, 82.25, None, 90], style="dashed", marker="square"),
        ],
    }
    return charts.line_chart(**{**kwargs, **overrides})


def _all_charts():
    return [
        _line(target=25),
        charts.bar_chart(
            caption="Received and closed",
            x_labels=["Jan", "Feb"],
            series=[charts.Series("Received", [3, 4]), charts.Series("Closed", [1, None])],
        ),
        charts.pareto_chart(caption="Pareto", labels=["A", "B"], counts=[3, 1], cumulative_pct=[75.0, 100.0]),
        charts.control_chart(
            caption="u-chart",
            x_labels=["Jan", "Feb", "Mar"],
            values=[1.0, 5.0, None],
            centre=2.0,
            ucl=[4.0, 4.2, None],
            lcl=[0.0, 0.0, None],
            out_of_control=[False, True, False],
        ),
        charts.sparkline([1, None, 3], label="Trend"),
    ]


def test_every_chart_is_well_formed_accessible_svg():
    for chart in _all_charts():
        root = _parse(chart.svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        title_id, desc_id = root.get("aria-labelledby").split()
        title = root.find(f"{SVG}title")
        desc = root.find(f"{SVG}desc")
        assert title.get("id") == title_id
        assert title.text == chart.caption
        assert desc.get("id") == desc_id
        assert desc.text
        assert "style=" not in str(chart.svg)


@pytest.mark.parametrize(
    "build",
    [
        lambda label: charts.line_chart(caption=label, x_labels=[label], series=[charts.Series(label, [1])]),
        lambda label: charts.bar_chart(caption=label, x_labels=[label], series=[charts.Series(label, [1])]),
        lambda label: charts.pareto_chart(caption=label, labels=[label], counts=[1], cumulative_pct=[100.0]),
        lambda label: charts.control_chart(
            caption=label, x_labels=[label], values=[1], centre=1, ucl=[2], lcl=[0], out_of_control=[True]
        ),
        lambda label: charts.sparkline([1, 2], label=label),
    ],
)
def test_labels_are_escaped(build):
    label = '<script>alert("x")</script> & Co'
    chart = build(label)
    assert "<script>" not in chart.svg
    assert "&lt;script&gt;" in chart.svg
    assert "&amp; Co" in chart.svg
    # Still parses as XML: nothing the label contains can break out of the markup.
    texts = "".join(_parse(chart.svg).itertext())
    assert label in texts


def test_none_leaves_a_gap_not_a_zero():
    chart = charts.line_chart(
        caption="Gaps", x_labels=["a", "b", "c", "d", "e"], series=[charts.Series("S", [1, 2, None, 4, 5])]
    )
    root = _parse(chart.svg)
    paths = root.findall(f".//{SVG}path")
    # Two runs (a-b and d-e), each one segment: no line through the missing month.
    assert len(paths) == 2
    assert all(path.get("d").count("L") == 1 for path in paths)
    assert len(root.findall(f".//{SVG}circle")) == 4 + 1  # four data points + legend sample
    assert chart.rows[2] == ["c", "no data"]


def test_lone_point_between_gaps_is_still_drawn():
    chart = charts.line_chart(
        caption="Lone", x_labels=["a", "b", "c"], series=[charts.Series("S", [None, 3, None], marker="none")]
    )
    assert len(_parse(chart.svg).findall(f".//{SVG}circle")) == 1


def test_all_missing_says_no_data():
    chart = charts.line_chart(caption="Empty", x_labels=["a", "b"], series=[charts.Series("S", [None, None])])
    assert "no data" in "".join(_parse(chart.svg).itertext())
    assert chart.rows == [["a", "no data"], ["b", "no data"]]


def test_line_table_rows_equal_the_data():
    chart = _line(target=25)
    assert chart.headers == ["Period", "NPS", "CSAT", "Target"]
    assert chart.rows == [
        ["Jan", "10.5", "80", "25"],
        ["Feb", "no data", "82.25", "25"],
        ["Mar", "20", "no data", "25"],
        ["Apr", "30", "90", "25"],
    ]


def test_pareto_and_control_tables_equal_the_data():
    pareto = charts.pareto_chart(
        caption="P", labels=["Delivery", "Billing"], counts=[3, 1], cumulative_pct=[Decimal("75.0"), Decimal("100.0")]
    )
    assert pareto.rows == [["Delivery", "3", "75.0"], ["Billing", "1", "100.0"]]
    control = charts.control_chart(
        caption="u",
        x_labels=["Jan", "Feb"],
        values=[Decimal("1.50"), None],
        centre=Decimal("1.20"),
        ucl=[Decimal("4.10"), None],
        lcl=[Decimal("0"), None],
        out_of_control=[True, False],
    )
    assert control.rows == [
        ["Jan", "1.50", "1.20", "4.10", "0", "outside the limits"],
        ["Feb", "no data", "1.20", "no data", "no data", ""],
    ]
    assert len(_parse(control.svg).findall(f".//{SVG}polygon[@class='chart-marker chart-out-of-control']")) == 1


def test_output_is_deterministic():
    first = [chart.svg for chart in _all_charts()]
    second = [chart.svg for chart in _all_charts()]
    assert first == second
    assert not re.search(r"\d\.\d{2,}", "".join(first).split("<desc")[0])


def test_different_charts_get_different_ids():
    ids = {_parse(chart.svg).get("id") for chart in _all_charts()}
    assert len(ids) == len(_all_charts())


def test_series_length_must_match_labels():
    with pytest.raises(ValueError, match="values"):
        charts.line_chart(caption="x", x_labels=["a"], series=[charts.Series("S", [1, 2])])


def test_partial_renders_figure_svg_and_table():
    chart = _line()
    html = render_to_string("partials/chart.html", {"chart": chart})
    assert "<figure" in html
    assert str(chart.svg) in html
    assert html.count("<table") == 2  # the disclosure on screen, the printed copy
    assert '<th scope="row">Feb</th><td>no data</td>' in html


def _axis_labels(chart) -> list[str]:
    return [text.text for text in _parse(chart.svg).findall(f".//{SVG}text[@class='chart-tick']")]


def test_long_time_axes_label_every_other_month_ending_with_the_latest():
    labels = [f"M{i:02d} 2026" for i in range(24)]
    chart = charts.line_chart(caption="Long", x_labels=labels, series=[charts.Series("S", list(range(24)))])
    shown = [label for label in _axis_labels(chart) if label.startswith("M")]
    assert shown[-1] == "M23 2026"
    assert len(shown) < len(labels)
    assert len(chart.rows) == 24  # the table keeps every month


def test_pareto_names_every_category():
    labels = [f"Category number {i}" for i in range(10)]
    chart = charts.pareto_chart(
        caption="P",
        labels=labels,
        counts=[10 - i for i in range(10)],
        cumulative_pct=[float(10 * (i + 1)) for i in range(10)],
    )
    named = [label for label in _axis_labels(chart) if label.startswith("Cat")]
    assert len(named) == 10


def test_control_chart_marks_the_running_month_as_partial():
    control = charts.control_chart(
        caption="u",
        x_labels=["Oct", "Nov", "Dec"],
        values=[Decimal("66.67"), Decimal("100.00"), Decimal("150.00")],
        centre=Decimal("83.33"),
        ucl=[Decimal("241.44"), Decimal("241.44"), None],
        lcl=[Decimal("0"), Decimal("0"), None],
        out_of_control=[False, False, False],
        partial=[False, False, True],
    )
    svg = _parse(control.svg)
    hollow = svg.findall(f".//{SVG}circle[@class='chart-marker chart-partial']")
    assert len(hollow) == 1
    assert hollow[0].get("fill") == "#fff"
    assert "running month" in hollow[0].find(f"{SVG}title").text
    assert "Dec (running month) is partial and not in the centre line or limits." in control.svg
    assert any("Running month (partial)" in (text.text or "") for text in svg.iter(f"{SVG}text"))
    assert control.rows[-1] == ["Dec", "150.00", "83.33", "no data", "no data", "partial month"]
