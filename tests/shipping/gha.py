"""A small stand-in for the GitHub Actions runner, enough to run a composite action's steps.

It evaluates the action's `${{ }}` expressions (only the simple forms the action may use:
property look-ups, `always()`, `==` / `!=` against a string literal, joined by `&&`; anything
else fails the test, which keeps the action's expressions auditable), runs each `shell: bash`
step the way the runner does (`bash --noprofile --norc -eo pipefail FILE`) with the `GITHUB_*`
and `RUNNER_*` variables and files, and records `uses:` steps with their evaluated `with:`
instead of running them. `on_uses` lets a test act for such a step (e.g. restore a cache).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
COMPARISON = re.compile(r"^(\S+)\s*(==|!=)\s*'([^']*)'$")
PROPERTY = re.compile(r"^[a-z_]+(\.[A-Za-z0-9_-]+)+$")


@dataclass
class Step:
    name: str
    ran: bool
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    uses: str | None = None
    with_: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)


@dataclass
class Run:
    steps: list[Step]
    outputs: dict

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    @property
    def failed(self) -> bool:
        return any(s.ran and s.returncode != 0 for s in self.steps)


class Runner:
    def __init__(self, action_dir: Path, workspace: Path, temp: Path, env: dict[str, str] | None = None):
        self.action_dir = action_dir
        self.workspace = workspace
        self.temp = temp
        self.extra_env = env or {}
        self.action = yaml.safe_load((action_dir / "action.yml").read_text())

    def run(self, inputs: dict[str, str], on_uses: Callable[[Step], None] | None = None) -> Run:
        declared = self.action.get("inputs", {})
        unknown = set(inputs) - set(declared)
        assert not unknown, f"inputs not declared by the action: {unknown}"
        values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
        values.update(inputs)
        self.temp.mkdir(parents=True, exist_ok=True)
        path_file = self.temp / "_github_path"
        path_file.write_text("")
        context = {
            "inputs": values,
            "github": {
                "action_path": str(self.action_dir),
                "action_repository": "",
                "workspace": str(self.workspace),
                "server_url": "https://github.com",
            },
            "runner": {"temp": str(self.temp), "os": "Linux", "arch": "X64"},
            "steps": {},
        }
        steps: list[Step] = []
        failed = False
        for index, spec in enumerate(self.action["runs"]["steps"]):
            step = Step(name=spec.get("name", f"step {index}"), ran=False, uses=spec.get("uses"))
            steps.append(step)
            condition = spec.get("if", "success()")
            if not self._condition(condition, context, failed):
                continue
            step.ran = True
            if step.uses:
                step.with_ = {k: self._interpolate(str(v), context) for k, v in spec.get("with", {}).items()}
                if on_uses:
                    on_uses(step)
            else:
                assert spec.get("shell") == "bash", f"{step.name}: only bash steps are simulated"
                self._run_script(spec, step, context, path_file)
                failed |= step.returncode != 0
            if "id" in spec:
                context["steps"][spec["id"]] = {"outputs": step.outputs}
        outputs = {
            name: self._interpolate(str(spec.get("value", "")), context)
            for name, spec in self.action.get("outputs", {}).items()
        }
        return Run(steps, outputs)

    def _run_script(self, spec: dict, step: Step, context: dict, path_file: Path) -> None:
        script = spec["run"]
        assert "${{" not in script, f"{step.name}: an expression is interpolated into the script"
        script_file = self.temp / "_step.sh"
        script_file.write_text(script)
        output_file = self.temp / "_github_output"
        output_file.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "SQLALINT_"))}
        extra_paths = [line for line in path_file.read_text().splitlines() if line]
        env["PATH"] = os.pathsep.join([*reversed(extra_paths), env.get("PATH", "")])
        env.update(
            {
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_ACTION_PATH": str(self.action_dir),
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_REPOSITORY": "example/project",
                "GITHUB_PATH": str(path_file),
                "GITHUB_OUTPUT": str(output_file),
                "GITHUB_ENV": str(self.temp / "_github_env"),
                "RUNNER_TEMP": str(self.temp),
                "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64",
            }
        )
        env.update(self.extra_env)
        env.update({k: self._interpolate(str(v), context) for k, v in spec.get("env", {}).items()})
        cwd = self.workspace / self._interpolate(str(spec.get("working-directory", ".")), context)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        step.returncode, step.stdout, step.stderr = done.returncode, done.stdout, done.stderr
        step.outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)

    def _interpolate(self, text: str, context: dict) -> str:
        return EXPRESSION.sub(lambda m: str(self._value(m.group(1).strip(), context)), text)

    def _condition(self, condition: str, context: dict, failed: bool) -> bool:
        text = condition.strip()
        match = EXPRESSION.fullmatch(text)
        if match:
            text = match.group(1).strip()
        terms = [t.strip() for t in text.split("&&")]
        if "always()" not in terms and failed:
            return False
        result = True
        for term in terms:
            if term in ("always()", "success()"):
                continue
            comparison = COMPARISON.match(term)
            assert comparison, f"unsupported expression term {term!r} in {condition!r}"
            value = str(self._value(comparison.group(1), context))
            equal = value == comparison.group(3)
            result &= equal if comparison.group(2) == "==" else not equal
        return result

    def _value(self, expression: str, context: dict):
        assert PROPERTY.match(expression), f"unsupported expression {expression!r}"
        value = context
        for part in expression.split("."):
            # A property of a skipped step (or an unset one) is the empty string, as on GitHub.
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value
