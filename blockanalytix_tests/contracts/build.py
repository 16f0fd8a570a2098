"""Compile TestTokens.sol with solcjs (npm `solc`) into TestTokens.json: ABI, bytecode and runtime bytecode.

mkdir /tmp/solcjs && cd /tmp/solcjs && npm install solc@0.8.30
python blockanalytix_tests/contracts/build.py /tmp/solcjs/node_modules/.bin/solcjs
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "TestTokens.sol"
OUT = HERE / "TestTokens.json"
SETTINGS = {
    "optimizer": {"enabled": True, "runs": 1},  # runs=1: linear selector dispatch (see README)
    "evmVersion": "cancun",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


def main(solcjs: str) -> None:
    request = {"language": "Solidity", "sources": {SOURCE.name: {"content": SOURCE.read_text()}}, "settings": SETTINGS}
    with tempfile.TemporaryFile("w+") as out:  # a file, not a pipe: solcjs exits before flushing a pipe
        subprocess.run([solcjs, "--standard-json"], input=json.dumps(request), stdout=out, text=True, check=True)
        out.seek(0)
        text = out.read()
    answer = json.loads(text[text.index("{") :])
    errors = [e["formattedMessage"] for e in answer.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise SystemExit("\n".join(errors))
    version = subprocess.run([solcjs, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    contracts = {
        name: {"abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"],
               "runtime": "0x" + c["evm"]["deployedBytecode"]["object"]}
        for name, c in answer["contracts"][SOURCE.name].items()
    }  # fmt: skip
    doc = {"source": SOURCE.name, "compiler": f"solcjs {version}", "settings": SETTINGS, "contracts": contracts}
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
