"""The web demo's probe rounds survive faults: a lost primary and a switch restart skip the
round (counted), and the next round after the switch is back probes every path again."""

from __future__ import annotations

from pathlib import Path

from ctl_harness import wait_for

from controlplane.netdesc import load
from controlplane.p4rt import P4RuntimeClient
from controlplane.webdemo import DemoDriver

EXAMPLES = Path(__file__).resolve().parents[2] / "controlplane" / "examples"


def test_probe_round_survives_lost_primary_and_switch_restart(tmp_path):
    drv = DemoDriver(load(EXAMPLES / "line4.json"), seed=3, state_dir=tmp_path)
    try:
        drv.start()
        drv.run(1.0)
        conn = drv.ctl.connections["igw"]
        n_paths = drv.probe_round()
        assert n_paths == 1 and drv.probes_skipped == 0

        # Another controller takes primacy: this one is a backup, its probes are refused.
        rival = P4RuntimeClient(conn.desc.address, conn.desc.device_id, election_id=100)
        rival.connect()
        try:
            assert rival.is_primary
            wait_for(lambda: not conn.client.is_primary, what="igw advised backup")
            assert drv.probe_round() == 0 and drv.probes_skipped == n_paths
        finally:
            rival.close()
        assert conn.client.reclaim()
        wait_for(lambda: conn.state == "ready", what="igw ready again")
        assert drv.probe_round() == n_paths and drv.probes_skipped == n_paths

        # The switch restarts: the session is lost, the round is skipped; once the controller
        # has reconnected and reinstalled, the next round probes again.
        readies = conn.ready_count
        drv.net.restart_switch("igw")
        wait_for(lambda: not conn.client.connected, what="igw session lost")
        assert drv.probe_round() == 0 and drv.probes_skipped == 2 * n_paths
        wait_for(
            lambda: conn.ready_count > readies and conn.state == "ready",
            what="igw reconnected and reconciled",
        )
        assert drv.probe_round() == n_paths and drv.probes_skipped == 2 * n_paths
        drv.run(2.0)  # the interval (step, probe rounds) goes on over the restarted switch
        assert drv.ctl.telemetry.last is not None
    finally:
        drv.stop()
