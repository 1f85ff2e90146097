"""Command line: `ome -c CONF`, `ome -v`, `ome check-config -c CONF`."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from ome import OME_API_VERSION, __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ome", description="ome live streaming server (OvenMediaEngine compatible)")
    p.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    p.add_argument("-c", "--config", default="conf",
                   help="config directory holding Server.xml, or the path of the file (default: conf)")
    p.add_argument("-e", "--env-file", help="KEY=VALUE lines to add to the environment before loading the config")
    p.add_argument("--log-level", default=os.environ.get("OME_LOG_LEVEL", "INFO"))
    sub = p.add_subparsers(dest="command")
    chk = sub.add_parser("check-config", help="validate the configuration and exit (non-zero when invalid)")
    chk.add_argument("-c", "--config", dest="check_config", default=None)
    return p


def _load_env_file(path: str) -> None:
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            os.environ[key.strip()] = value.strip()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.version:
        print(f"ome {__version__} (OvenMediaEngine API {OME_API_VERSION})")
        return 0
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.env_file:
        _load_env_file(args.env_file)
    conf_path = getattr(args, "check_config", None) or args.config

    from ome.config import ConfigError, load_server_config
    try:
        config = load_server_config(conf_path)
    except ConfigError as exc:
        print(f"[Config] {exc}", file=sys.stderr)
        return 1
    if args.command == "check-config":
        print(f"{config.config_file}: OK")
        return 0
    return _serve(config)


def _serve(config) -> int:
    import uvloop

    from ome.errors import StartupError
    from ome.server import Server

    async def run() -> None:
        server = Server(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await server.start()
        except BaseException:
            await server.stop()
            raise
        await stop.wait()
        logging.getLogger("ome").info("signal received, stopping")
        await server.stop()

    try:
        uvloop.run(run())
    except StartupError as exc:
        logging.getLogger("ome").error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
