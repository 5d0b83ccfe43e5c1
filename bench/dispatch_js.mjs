// The AWS SDK for JavaScript v3 (@aws-sdk/client-lambda from tests/node) invoking a no-op
// task with 64 (or JOBS) invokes in flight over kept-alive connections.
//
//   node bench/dispatch_js.mjs URL [tasks=20000] [jobs=64]
// Prints one line in dispatch_bench's format; CPU is this process's (process.cpuUsage).
import { createRequire } from "node:module";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "tests", "node", "package.json"));
const { LambdaClient, InvokeCommand } = require("@aws-sdk/client-lambda");
const { NodeHttpHandler } = require("@smithy/node-http-handler");

const url = process.argv[2];
const tasks = Number(process.argv[3] ?? 20000);
const jobs = Number(process.argv[4] ?? 64);
const agent = new http.Agent({ keepAlive: true, maxSockets: jobs, noDelay: true });
const client = new LambdaClient({
  endpoint: url,
  region: "us-east-1",
  credentials: {
    accessKeyId: "AKIDBENCHMARK",
    secretAccessKey: "benchmarkSecretKey000000000000000000000000",
    sessionToken: "benchmark-session-token",
  },
  maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ httpAgent: agent }),
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let next = 1;
let failed = 0;
async function worker() {
  while (next <= tasks) {
    const seq = next++;
    const event = { v: 1, task_id: `bench-${seq}`, kind: "process", argv: ["true"] };
    try {
      const r = await client.send(new InvokeCommand({
        FunctionName: "bench",
        InvocationType: "RequestResponse",
        Payload: encoder.encode(JSON.stringify(event)),
      }));
      const result = JSON.parse(decoder.decode(r.Payload));
      if (r.StatusCode !== 200 || r.FunctionError || result.outcome !== "succeeded") failed++;
    } catch (e) {
      if (failed++ === 0) console.error(`task ${seq}: ${e}`);
    }
  }
}

const start = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
await Promise.all(Array.from({ length: jobs }, worker));
const wall = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpu0);
const cpuUs = cpu.user + cpu.system;
console.log(`tasks=${tasks} failed=${failed} seconds=${wall.toFixed(2)} ` +
  `tasks_per_s=${(tasks / wall).toFixed(0)} cpu_us_per_task=${(cpuUs / tasks).toFixed(1)}`);
agent.destroy();
process.exit(failed === 0 ? 0 : 1);
