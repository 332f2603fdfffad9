"""The SVG charts draw what their series hold: parsed back as XML, with sizes checked."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from kubecall.report import plots
from kubecall.report.svg import Chart, linear_ticks, nice_step

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(chart: Chart) -> ET.Element:
    return ET.fromstring(chart.svg())


def group(root: ET.Element, label: str) -> ET.Element:
    (found,) = [g for g in root.iterfind(".//svg:g[@class='series']", NS)
                if g.get("data-label") == label]
    return found


def test_bars_are_as_tall_as_their_values_and_stand_on_the_axis() -> None:
    chart = Chart("t", 400, 300)
    chart.bars([0, 1, 2], [1.0, 4.0, 2.0], "#111111", "s")
    rects = group(parse(chart), "s").findall("svg:rect", NS)
    heights = [float(r.get("height")) for r in rects]
    assert heights[1] == pytest.approx(4 * heights[0], rel=1e-3)
    assert heights[2] == pytest.approx(2 * heights[0], rel=1e-3)
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 1) for r in rects}
    assert len(bottoms) == 1  # one baseline
    lefts = [float(r.get("x")) for r in rects]
    assert lefts == sorted(lefts)  # in x order, left to right


def test_every_bar_and_point_has_its_tooltip_escaped() -> None:
    chart = Chart("a <b> & c", 400, 300, legend=True)
    chart.bars([0], [3], "#111111", "s<1>", tips=["chr1:1-5 <&>"])
    chart.points([1], [2], "#222222", "p")
    root = parse(chart)  # parses: labels and tips are escaped
    assert root.find("svg:title", NS).text == "a <b> & c"
    assert group(root, "s<1>").find("svg:rect/svg:title", NS).text == "chr1:1-5 <&>"
    assert group(root, "p").find("svg:circle/svg:title", NS).text == "1, 2"
    legend = [t.text for t in root.iterfind(".//svg:g[@class='legend-entry']/svg:text", NS)]
    assert legend == ["s<1>", "p"]


def test_dense_series_are_one_path_per_colour_with_one_segment_per_value() -> None:
    chart = Chart("t", 800, 300)
    chart.vlines(range(500), [i % 5 for i in range(500)],
                 ["#aa0000" if i % 50 == 0 else "#0000aa" for i in range(500)], "many")
    paths = group(parse(chart), "many").findall("svg:path", NS)
    segments = {p.get("stroke"): p.get("d").count("M") for p in paths}
    assert segments == {"#aa0000": 10, "#0000aa": 490}


def test_a_log_axis_has_a_tick_per_power_of_ten_and_keeps_empty_bins_flat() -> None:
    chart = Chart("t", 400, 300, log_y=True)
    chart.bars([0, 1, 2, 3], [0, 9, 1200, 1], "#111111", "counts")
    root = parse(chart)
    labels = [t.text for t in root.iterfind(".//svg:g[@class='axes']/svg:text", NS)]
    assert labels[:6] == ["0.1", "1", "10", "100", "1,000", "10,000"]
    heights = [float(r.get("height")) for r in group(root, "counts").findall("svg:rect", NS)]
    assert heights[0] == 0 and 0 < heights[3] < heights[1] < heights[2]  # a 1 still shows
    # heights measured in decades above the axis' foot at 0.1
    assert heights[2] / heights[1] == pytest.approx((math.log10(1200) + 1) / (math.log10(9) + 1),
                                                    rel=1e-3)


def test_hatched_series_use_a_pattern_with_an_id_unique_to_the_chart() -> None:
    one = plots.region_runtimes_figure(
        [plots.RegionRow("r0", "b0", 1, 10, "split", 2.0, 1, "c:1-10")], None).svg()
    root = ET.fromstring(one)
    (pattern,) = root.iterfind(".//svg:pattern", NS)
    fill = group(root, "runaway (split or fallback)").find("svg:rect", NS).get("fill")
    assert fill == f"url(#{pattern.get('id')})"
    assert pattern.get("id").startswith("hatch-calling-time-per-region")


def test_charts_are_deterministic_and_long_tick_labels_shortened() -> None:
    names = {"chr1": 3, "HLA-DRB1*15:01:01:01:01:01:01": 2}
    first = plots.variants_per_contig_figure(names).svg()
    assert first == plots.variants_per_contig_figure(names).svg()
    texts = [t for t in ET.fromstring(first).itertext()]
    assert "HLA-DRB1*15:01:01:01:01\u2026" in texts  # the tick, shortened
    assert "HLA-DRB1*15:01:01:01:01:01:01" in texts  # and its tooltip, whole


def test_every_report_figure_is_well_formed_svg_even_without_data() -> None:
    empty = [plots.region_runtimes_figure([], None), plots.batch_runtimes_figure({}),
             plots.work_vs_runtime_figure([]), plots.variants_per_contig_figure({}),
             plots.variants_per_region_figure([]), plots.histogram_figure([], "Q", "q"),
             plots.per_sample_figure([])]
    for chart in empty:
        root = parse(chart)
        assert root.get("width") == str(chart.width)
        assert "nan" not in chart.svg().lower()


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (0, 9, [0, 2, 4, 6, 8]),
    (0, 1200, [0, 250, 500, 750, 1000]),
    (0.5, 0.55, [0.5, 0.51, 0.52, 0.53, 0.54, 0.55]),
])
def test_linear_ticks_fall_on_nice_steps_inside_the_range(low: float, high: float,
                                                          expected: list[float]) -> None:
    assert linear_ticks(low, high) == pytest.approx(expected)
    assert nice_step(0) == 1.0
