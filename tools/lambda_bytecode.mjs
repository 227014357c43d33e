// Compiles the Lambda functions' Python code to the bytecode of the functions' runtime, so that
// a cold start loads it instead of compiling the source (the inference function's own modules
// cost ~157 M instructions to compile, a fifth of a bare boto3 client's whole cold start).
//
//   node tools/lambda_bytecode.mjs        (`make bytecode`)
//
// Lambda unpacks a function's code into /var/task (LAMBDA_TASK_ROOT, "Defined runtime
// environment variables"); an execution environment's one writable directory is /tmp ("Security
// Overview of AWS Lambda", "Lambda isolation technologies") and each new one starts again from
// the code: without bytecode in the code, every cold start compiles every module it imports. The runtime is python3.14
// (bedrock_landing_zone/base/functions.py), and only CPython 3.14 writes bytecode 3.14 reads: the
// `pyodide` package (pinned in package.json) is CPython 3.14 compiled to WebAssembly, run here
// by Node.js, offline. Each module becomes lambda/<function>/<package>/__pycache__/
// <module>.cpython-314.pyc, committed beside its source and shipped in the asset.
//
// The files are "checked hash-based" pycs (Python docs, "Cached bytecode invalidation"; PEP
// 552): the importer reads the source, hashes it and uses the pyc only when the hash matches;
// otherwise it compiles the source as before. A stale pyc therefore costs the old compile time,
// never wrong code; tests/lambda/test_bytecode.py fails when one is stale and names this command.
// co_filename is the module's path under /var/task, as Lambda's tracebacks show it.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { join, relative, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const FUNCTIONS = ["lambda/inference", "lambda/model_access"];

function pythonFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "__pycache__") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...pythonFiles(path));
    else if (entry.name.endsWith(".py")) out.push(path);
  }
  return out;
}

const py = await loadPyodide();
const tag = py.runPython("import sys; sys.implementation.cache_tag");
const version = py.runPython("import platform; platform.python_version()");
let written = 0;
for (const fn of FUNCTIONS) {
  const root = join(ROOT, fn);
  const sources = pythonFiles(root);
  for (const source of sources) {
    const task = "/var/task/" + relative(root, source);
    py.FS.mkdirTree(dirname(task));
    py.FS.writeFile(task, readFileSync(source));
  }
  // Compile in the interpreter, then prove each pyc is what its importer uses: the source loader
  // is told to fail if it has to compile anything.
  const report = py.runPython(`
import importlib.machinery, importlib.util, json, py_compile
mode = py_compile.PycInvalidationMode.CHECKED_HASH
out = {}
for task in ${JSON.stringify(sources.map((s) => "/var/task/" + relative(root, s)))}:
    out[task] = py_compile.compile(task, invalidation_mode=mode, doraise=True)
class NoCompile(importlib.machinery.SourceFileLoader):
    def source_to_code(self, data, path, **kwargs):
        raise AssertionError(f"{path}: the pyc was not used")
for task in out:
    NoCompile("m", task).get_code("m")
json.dumps(out)
`);
  const compiled = JSON.parse(report);
  const keep = new Set();
  for (const [task, pyc] of Object.entries(compiled)) {
    const source = join(root, relative("/var/task", task));
    const target = join(dirname(source), "__pycache__", basename(pyc));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, py.FS.readFile(pyc));
    keep.add(target);
    written += 1;
  }
  // A module that is gone leaves no bytecode behind.
  for (const source of sources) {
    const cache = join(dirname(source), "__pycache__");
    if (!existsSync(cache)) continue;
    for (const name of readdirSync(cache)) {
      const path = join(cache, name);
      if (name.endsWith(`.${tag}.pyc`) && !keep.has(path)) rmSync(path);
    }
  }
}
console.log(`bytecode: ${written} modules compiled by CPython ${version} (${tag}), checked-hash`);
