"""The main job: an emulated computing-power network carrying AISID traffic, run by the
controller (:mod:`cpn.scenario`), its faults (:mod:`cpn.faults`), results (:mod:`cpn.results`),
report (:mod:`cpn.report`) and the ``make demo`` entry (:mod:`cpn.demo`, ``python -m cpn``)."""
