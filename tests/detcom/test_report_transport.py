"""The report's transport tables over training seeds and against what any scheduler can reach."""

import re

from agents.detcom.report.build import _reach_text, _seeds_text
from agents.detcom.transport import api


def test_seed_table_and_figure(tmp_path):
    text = _seeds_text(api, tmp_path, seed=3, scs_list=[60], n_tasks=60, cmd="cmd")
    assert (tmp_path / "fig5b_seeds.png").stat().st_size > 0
    row = next(line for line in text.splitlines() if line.startswith("| 60 kHz"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    n = len(api.training_seed_dirs())
    assert f"{n} policies per method" in text
    d3qn = api.evaluate_over("d3qn", 60, 3, api.training_seed_dirs(), n_tasks=60, n_windows=10)
    assert cells[1] == f"{d3qn['total_cost']:.1f} ± {d3qn['total_cost_std']:.1f}"
    assert all(re.fullmatch(r"[+-]\d+\.\d", x.strip()) for x in cells[5].split("/"))


def test_reach_table_flags_a_margin_below_the_floor():
    floor = api.cost_floor(60, 3, n_tasks=60)["floor"]
    c60 = {"dqn": floor / (1 - 0.189) - 1.0, "sa": 2 * floor, "ddqn": 2 * floor}
    text = _reach_text(api, 3, 60, c60)
    assert "below the cost floor" in text
    assert f"| {floor:.1f} |" in text
    text = _reach_text(api, 3, 60, {"dqn": 2 * floor, "sa": 2 * floor, "ddqn": 2 * floor})
    assert "above the cost floor" in text
    assert _reach_text(api, 3, 60, {"dqn": 1.0}) == ""
