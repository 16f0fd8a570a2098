"""`blockanalytix devnet`: start the embedded default chain (anvil + deterministic scenario), or stop it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from blockanalytix_assets.devnet.anvil import pid_alive, read_pid_file, stop_pid, write_pid_file
from blockanalytix_assets.devnet.chain import ChainFiles, cache_files, publish, start_chain
from blockanalytix_assets.devnet.live import live_loop
from blockanalytix_assets.devnet.world import ScenarioConfig

LIVE_MODULE = "blockanalytix_assets.devnet.live"


def devnet_dir(home: Path) -> Path:
    return home / "devnet"


def pid_path(home: Path) -> Path:
    return devnet_dir(home) / "anvil.pid"


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def stop_devnet(home: Path) -> bool:
    """Stop the devnet recorded in home's pid file; return whether one was running."""
    info = read_pid_file(pid_path(home))
    if info is None:
        return False
    if info.get("live_pid"):
        stop_pid(info["live_pid"], LIVE_MODULE)
    running = stop_pid(info["pid"], "anvil")
    pid_path(home).unlink(missing_ok=True)
    return running


def _raise_on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt


@click.group("devnet", invoke_without_command=True)
@click.option("--port", default=8545, show_default=True, help="JSON-RPC port of anvil.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--blocks", default=600, show_default=True, help="Blocks to generate.")
@click.option("--seed", default=7, show_default=True, help="Seed: the same seed gives the same block hashes.")
@click.option("--txs-per-block", default=20, show_default=True, help="About this many transactions a block.")
@click.option("--accounts", default=400, show_default=True, help="Retail accounts at genesis.")
@click.option(
    "--regime-shift-at",
    "regime_shift_at",
    type=click.IntRange(min=1),
    default=None,
    metavar="BLOCK",
    help="From this block on, ordinary activity shifts (values x20, gas prices x5, more contract calls); "
    "labelled typologies continue. Default: no shift.",
)
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    envvar="BLOCKANALYTIX_HOME",
    default=".blockanalytix",
    show_default=True,
    help="Devnet files go under HOME/devnet/.",
)
@click.option(
    "--state-file",
    type=click.Path(path_type=Path),
    default=None,
    help="Chain dump to reload if it matches, else to write (default: a cache under HOME).",
)
@click.option("--regenerate", is_flag=True, help="Generate even when a matching dump exists.")
@click.option("--detach", is_flag=True, help="Leave anvil running in the background and return.")
@click.option("--live", is_flag=True, help="Keep mining a light block every --interval seconds.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between live blocks.")
@click.option("--stop", "stop_flag", is_flag=True, help="Stop a detached devnet (same as `devnet stop`).")
@click.pass_context
def devnet_command(
    ctx: click.Context,
    port: int,
    host: str,
    blocks: int,
    seed: int,
    txs_per_block: int,
    accounts: int,
    regime_shift_at: int | None,
    home: Path,
    state_file: Path | None,
    regenerate: bool,
    detach: bool,
    live: bool,
    interval: float,
    stop_flag: bool,
) -> None:
    """Run the embedded default chain: anvil filled with a deterministic, labelled scenario."""
    ctx.obj = {"home": home}
    if ctx.invoked_subcommand is not None:
        return
    if stop_flag:
        ctx.invoke(stop_command)
        return
    info = read_pid_file(pid_path(home))
    if info and pid_alive(info["pid"], "anvil"):
        raise click.ClickException(
            f"a devnet is already running (pid {info['pid']}, {info['url']}): run `blockanalytix devnet stop`"
        )
    if _port_in_use(host, port):
        raise click.ClickException(f"port {port} on {host} is in use: pick another with --port")
    config = ScenarioConfig(
        seed=seed, blocks=blocks, txs_per_block=txs_per_block, accounts=accounts, regime_shift_at=regime_shift_at
    )
    files = ChainFiles.beside(state_file) if state_file else cache_files(home, config)
    folder = devnet_dir(home)
    shift = f", regime shift at block {regime_shift_at}" if regime_shift_at else ""
    click.echo(f"devnet: seed {seed}, {blocks} blocks x ~{txs_per_block} txs on {host}:{port}{shift}")
    # anvil gets its own session even in the foreground: Ctrl-C reaches us only, and we stop it cleanly.
    chain = start_chain(
        config,
        files,
        port,
        host,
        detach=True,
        log_path=folder / "anvil.log",
        auto_mine=not live,
        regenerate=regenerate,
        log=click.echo,
    )
    published = publish(chain, folder)
    m = chain.manifest
    how = f"generated in {m['generation_seconds']:.1f}s" if chain.generated else "reloaded"
    click.echo(
        f"devnet: {chain.url} chain id {config.chain_id}, head {m['head']['number']}, {m['tx_count']} txs ({how})"
    )
    click.echo(f"devnet: labels {published.labels}, manifest {published.manifest}, state {files.state}")
    info = {
        "pid": chain.anvil.pid,
        "live_pid": None,
        "url": chain.url,
        "port": port,
        "state": str(files.state),
        "labels": str(published.labels),
        "manifest": str(published.manifest),
    }
    if detach:
        if live:
            with open(folder / "live.log", "ab") as out:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        LIVE_MODULE,
                        "--url",
                        chain.url,
                        "--seed",
                        str(seed),
                        "--accounts",
                        str(accounts),
                        "--interval",
                        str(interval),
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            info["live_pid"] = proc.pid
        write_pid_file(pid_path(home), info)
        click.echo(f"devnet: detached (pid {chain.anvil.pid}); stop it with `blockanalytix devnet stop`")
        return
    write_pid_file(pid_path(home), info)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    click.echo("devnet: running, Ctrl-C to stop")
    try:
        if live:
            live_loop(chain.url, config, interval, log=click.echo)
        else:
            while chain.anvil.proc is not None and chain.anvil.proc.poll() is None:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        chain.anvil.stop()
        pid_path(home).unlink(missing_ok=True)
        click.echo("devnet: stopped")


HOME_OPTION = click.option(
    "--home", type=click.Path(path_type=Path), default=None, help="Overrides the group's --home / BLOCKANALYTIX_HOME."
)


@devnet_command.command("stop")
@HOME_OPTION
@click.pass_context
def stop_command(ctx: click.Context, home: Path | None = None) -> None:
    """Stop a detached devnet."""
    home = home or ctx.obj["home"]
    if stop_devnet(home):
        click.echo("devnet: stopped")
    else:
        click.echo(f"devnet: none running (no live pid in {pid_path(home)})")


@devnet_command.command("status")
@HOME_OPTION
@click.pass_context
def status_command(ctx: click.Context, home: Path | None = None) -> None:
    """Say whether a detached devnet is running, and where (exit 1 when not)."""
    info = read_pid_file(pid_path(home or ctx.obj["home"]))
    if info and pid_alive(info["pid"], "anvil"):
        click.echo(f"devnet: running, pid {info['pid']}, {info['url']}, labels {info['labels']}")
    else:
        click.echo("devnet: not running")
        sys.exit(1)
