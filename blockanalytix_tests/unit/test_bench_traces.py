"""The traces benchmark's figures from its raw measurements, and its hand-assembled fan-out code."""

from __future__ import annotations

from blockanalytix_tests.benchmarks import bench_traces, trace_load


def side(cpu_small: float, cpu_large: float, traces: tuple[int, int] = (1_000, 10_000)) -> dict:
    run = {
        "wall_s": 1.0,
        "node_cpu_s": 0.1,
        "peak_rss_mb": 100.0,
        "parquet_mb": 1.0,
        "response_mb": 5.0,
        "arrow_mb": 2.0,
    }
    cpu = (cpu_small, cpu_large)
    return {s: run | {"cpu_s": c, "traces": n} for s, c, n in zip(("small", "large"), cpu, traces, strict=True)}


def test_marginal_cost_ratio_growth_and_mainnet_hours() -> None:
    d = bench_traces.derive({"ours": side(1.1, 1.55), "ethereum_etl": side(1.2, 2.55)})
    assert d["ours_marginal_cpu_us_per_trace"] == 50.0 and d["etl_marginal_cpu_us_per_trace"] == 150.0
    assert d["cpu_ratio_ours_to_etl"] == 0.333 and d["ours_cpu_growth_10x_traces"] == 1.41
    assert d["ours_fixed_cpu_s"] == 1.05 and d["meets_targets"] and d["same_rows_as_etl"]
    assert d["mainnet_1e10_traces_client_cpu_hours"] == {"ours": 139, "etl": 417}
    slower = bench_traces.derive({"ours": side(1.2, 2.55), "ethereum_etl": side(1.1, 1.55)})
    assert not slower["meets_targets"]
    fewer = bench_traces.derive({"ours": side(1.1, 1.55), "ethereum_etl": side(1.2, 2.55, (1_000, 9_999))})
    assert not fewer["same_rows_as_etl"] and not fewer["meets_targets"]


def test_fanout_loop_jumps_land_on_jumpdests() -> None:
    code = bytes.fromhex(trace_load.FANOUT)
    jumps = [code[i + 1] for i in range(len(code) - 2) if code[i] == 0x60 and code[i + 2] in (0x56, 0x57)]
    assert len(jumps) == 2 and all(code[j] == 0x5B for j in jumps)  # PUSH1 target; JUMP/JUMPI
    assert code[-2:] == bytes.fromhex("5b00")  # the loop's exit: JUMPDEST STOP
