// The AWS SDK for JavaScript v3 drives `parallelagram local-lambda`, and AWS's runtime
// client (aws-lambda-ric) runs a Node handler as a function's bootstrap inside it:
// success, a thrown error and a timeout. Run by tests/e2e/local_lambda_node_test.sh.
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import {
  LambdaClient, CreateFunctionCommand, InvokeCommand, GetFunctionCommand,
  GetFunctionConfigurationCommand, PutFunctionConcurrencyCommand,
  GetFunctionConcurrencyCommand, DeleteFunctionConcurrencyCommand,
  GetAccountSettingsCommand, UpdateFunctionConfigurationCommand, DeleteFunctionCommand,
  waitUntilFunctionActiveV2, waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';

const here = dirname(fileURLToPath(import.meta.url));
const PG_BIN = process.env.PG_BIN || join(here, '../../build/parallelagram');
const ric = join(here, 'node_modules/aws-lambda-ric/bin/index.mjs');

const work = mkdtempSync(join(tmpdir(), 'll-node-'));
const ll = spawn(PG_BIN, ['local-lambda', '--port', '0', '--access-key-id', 'AKIDJS',
  '--secret-access-key', 'jssecret'], { stdio: ['ignore', 'pipe', 'inherit'] });
const cleanup = () => { try { ll.kill('SIGTERM'); } catch {} rmSync(work, { recursive: true, force: true }); };
process.on('exit', cleanup);

const firstLine = await new Promise((resolve, reject) => {
  createInterface({ input: ll.stdout }).once('line', resolve);
  ll.once('exit', (c) => reject(new Error('local-lambda exited ' + c)));
});
assert.match(firstLine, /^local-lambda listening on http:\/\/127\.0\.0\.1:\d+$/);
const endpoint = firstLine.split(' ').pop();

const lambda = new LambdaClient({
  endpoint, region: 'us-east-1', maxAttempts: 1,
  credentials: { accessKeyId: 'AKIDJS', secretAccessKey: 'jssecret' },
});
const dec = (b) => new TextDecoder().decode(b);

// The function: AWS's runtime interface client running index.handler.
const pkg = join(work, 'pkg');
execFileSync('mkdir', ['-p', pkg]);
writeFileSync(join(pkg, 'bootstrap'), `#!/bin/sh\nexec node ${ric} index.handler\n`);
chmodSync(join(pkg, 'bootstrap'), 0o755);
writeFileSync(join(pkg, 'index.mjs'), `
export const handler = async (event, context) => {
  if (event.throw) throw new Error(event.throw);
  if (event.wait) await new Promise((r) => setTimeout(r, event.wait));
  console.log('node handler saw', JSON.stringify(event));
  if (event.show) {
    const e = process.env;
    return { arn: context.invokedFunctionArn, clientContext: context.clientContext ?? null,
             logStream: context.logStreamName, env: {
               LD_LIBRARY_PATH: e.LD_LIBRARY_PATH, PATH: e.PATH, LAMBDA_TASK_ROOT: e.LAMBDA_TASK_ROOT,
               LAMBDA_RUNTIME_DIR: e.LAMBDA_RUNTIME_DIR, AWS_LAMBDA_LOG_STREAM_NAME:
               e.AWS_LAMBDA_LOG_STREAM_NAME, AWS_LAMBDA_LOG_GROUP_NAME: e.AWS_LAMBDA_LOG_GROUP_NAME,
               AWS_LAMBDA_FUNCTION_VERSION: e.AWS_LAMBDA_FUNCTION_VERSION, LANG: e.LANG,
               AWS_LAMBDA_INITIALIZATION_TYPE: e.AWS_LAMBDA_INITIALIZATION_TYPE } };
  }
  return { got: event, fn: context.functionName, left: context.getRemainingTimeInMillis() > 0,
           region: process.env.AWS_REGION };
};
`);
execFileSync('zip', ['-q', join(work, 'fn.zip'), 'bootstrap', 'index.mjs'], { cwd: pkg });
const zip = readFileSync(join(work, 'fn.zip'));

const created = await lambda.send(new CreateFunctionCommand({
  FunctionName: 'nodefn', Runtime: 'provided.al2023', Role: 'arn:aws:iam::123456789012:role/r',
  Handler: 'index.handler', Code: { ZipFile: zip }, Timeout: 2,
}));
// As Lambda: Pending first (local-lambda --state-delay, 1 s by default), and an invoke then
// is refused; AWS's own waiter sees it become Active.
assert.equal(created.State, 'Pending');
assert.equal(created.StateReasonCode, 'Creating');
await assert.rejects(lambda.send(new InvokeCommand({ FunctionName: 'nodefn', Payload: '{}' })),
  (e) => e.name === 'ResourceConflictException' && e.$metadata.httpStatusCode === 409);
const waited = await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 60, minDelay: 1 },
  { FunctionName: 'nodefn' });
assert.equal(waited.state, 'SUCCESS');
const active = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'nodefn' }));
assert.equal(active.State, 'Active');
assert.equal(active.LastUpdateStatus, 'Successful');
assert.equal((await lambda.send(new GetFunctionCommand({ FunctionName: 'nodefn' })))
  .Configuration.Timeout, 2);

// Success (cold, then warm), with the tail of the log.
for (let i = 0; i < 2; i++) {
  const ok = await lambda.send(new InvokeCommand({
    FunctionName: 'nodefn', Payload: JSON.stringify({ n: i }), LogType: 'Tail' }));
  assert.equal(ok.StatusCode, 200);
  assert.equal(ok.FunctionError, undefined);
  assert.deepEqual(JSON.parse(dec(ok.Payload)),
    { got: { n: i }, fn: 'nodefn', left: true, region: 'us-east-1' });
  const log = Buffer.from(ok.LogResult, 'base64').toString();
  assert.match(log, /node handler saw/);
  assert.match(log, /REPORT RequestId: /);
}

// What Lambda gives the runtime, as AWS's runtime client reads it: the ARN used to invoke
// (with the qualifier named), the client context, Lambda's environment variables.
const ctxIn = { client: { app_title: 'pg-test' }, custom: { k: 'v' }, env: { locale: 'en' } };
for (const qualifier of [undefined, '$LATEST']) {
  const shown = await lambda.send(new InvokeCommand({
    FunctionName: 'nodefn', Qualifier: qualifier, Payload: JSON.stringify({ show: true }),
    ClientContext: Buffer.from(JSON.stringify(ctxIn)).toString('base64') }));
  const s = JSON.parse(dec(shown.Payload));
  const arn = 'arn:aws:lambda:us-east-1:123456789012:function:nodefn';
  assert.equal(s.arn, qualifier ? arn + ':' + qualifier : arn);
  assert.deepEqual(s.clientContext.custom, ctxIn.custom);
  assert.match(s.logStream, /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
  assert.equal(s.env.AWS_LAMBDA_LOG_STREAM_NAME, s.logStream);
  const root = s.env.LAMBDA_TASK_ROOT;
  assert.equal(s.env.LD_LIBRARY_PATH, '/var/lang/lib:/lib64:/usr/lib64:/var/runtime:' +
    `/var/runtime/lib:${root}:${root}/lib:/opt/lib`);
  assert.ok(s.env.PATH.startsWith('/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin'));
  assert.equal(s.env.LAMBDA_RUNTIME_DIR, '/var/runtime');
  assert.equal(s.env.AWS_LAMBDA_LOG_GROUP_NAME, '/aws/lambda/nodefn');
  assert.equal(s.env.AWS_LAMBDA_FUNCTION_VERSION, '$LATEST');
  assert.equal(s.env.AWS_LAMBDA_INITIALIZATION_TYPE, 'on-demand');
  assert.equal(s.env.LANG, 'en_US.UTF-8');
}
await assert.rejects(lambda.send(new InvokeCommand({
  FunctionName: 'nodefn', Payload: '{}', ClientContext: 'not base64 json' })),
  (e) => e.name === 'InvalidRequestContentException' && e.$metadata.httpStatusCode === 400);

// A thrown error: aws-lambda-ric posts it to /error; Lambda returns it as Unhandled.
const thrown = await lambda.send(new InvokeCommand({
  FunctionName: 'nodefn', Payload: JSON.stringify({ throw: 'kaboom' }) }));
assert.equal(thrown.StatusCode, 200);
assert.equal(thrown.FunctionError, 'Unhandled');
const terr = JSON.parse(dec(thrown.Payload));
assert.equal(terr.errorType, 'Error');
assert.equal(terr.errorMessage, 'kaboom');

// A timeout (Timeout 2 s, the handler waits 10 s).
const to = await lambda.send(new InvokeCommand({
  FunctionName: 'nodefn', Payload: JSON.stringify({ wait: 10000 }) }));
assert.equal(to.FunctionError, 'Unhandled');
const toerr = JSON.parse(dec(to.Payload));
assert.equal(toerr.errorType, 'Sandbox.Timedout');
assert.match(toerr.errorMessage, /^RequestId: \S+ Error: Task timed out after 2\.\d\d seconds$/);
// The environment was replaced.
const after = await lambda.send(new InvokeCommand({ FunctionName: 'nodefn', Payload: '{"x":1}' }));
assert.deepEqual(JSON.parse(dec(after.Payload)).got, { x: 1 });

// Event and DryRun.
assert.equal((await lambda.send(new InvokeCommand({
  FunctionName: 'nodefn', InvocationType: 'Event', Payload: '{}' }))).StatusCode, 202);
assert.equal((await lambda.send(new InvokeCommand({
  FunctionName: 'nodefn', InvocationType: 'DryRun' }))).StatusCode, 204);

// Concurrency APIs and a 429.
await lambda.send(new PutFunctionConcurrencyCommand({
  FunctionName: 'nodefn', ReservedConcurrentExecutions: 0 }));
assert.equal((await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'nodefn' })))
  .ReservedConcurrentExecutions, 0);
await assert.rejects(lambda.send(new InvokeCommand({ FunctionName: 'nodefn', Payload: '{}' })),
  (e) => e.name === 'TooManyRequestsException' &&
    e.Reason === 'ReservedFunctionConcurrentInvocationLimitExceeded' &&
    e.$metadata.httpStatusCode === 429);
await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'nodefn' }));
const acct = await lambda.send(new GetAccountSettingsCommand({}));
assert.equal(acct.AccountLimit.ConcurrentExecutions, 1000);

// Errors.
await assert.rejects(lambda.send(new InvokeCommand({ FunctionName: 'nope', Payload: '{}' })),
  (e) => e.name === 'ResourceNotFoundException' && e.$metadata.httpStatusCode === 404 &&
    e.message === 'Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope');
await assert.rejects(lambda.send(new InvokeCommand({
  FunctionName: 'nodefn', Payload: JSON.stringify('x'.repeat(6 * 1024 * 1024)) })),
  (e) => e.name === 'RequestTooLargeException' && e.$metadata.httpStatusCode === 413);
const bad = new LambdaClient({ endpoint, region: 'us-east-1', maxAttempts: 1,
  credentials: { accessKeyId: 'AKIDJS', secretAccessKey: 'not-the-secret' } });
await assert.rejects(bad.send(new GetFunctionConfigurationCommand({ FunctionName: 'nodefn' })),
  (e) => e.name === 'InvalidSignatureException' && e.$metadata.httpStatusCode === 403);

// An update is InProgress, then Successful; a second update meanwhile is refused.
const upd = await lambda.send(new UpdateFunctionConfigurationCommand({
  FunctionName: 'nodefn', Timeout: 5 }));
assert.equal(upd.LastUpdateStatus, 'InProgress');
await assert.rejects(lambda.send(new UpdateFunctionConfigurationCommand({
  FunctionName: 'nodefn', Timeout: 6 })),
  (e) => e.name === 'ResourceConflictException' && e.$metadata.httpStatusCode === 409);
const updWaited = await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 60, minDelay: 1 },
  { FunctionName: 'nodefn' });
assert.equal(updWaited.state, 'SUCCESS');
assert.equal((await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'nodefn' })))
  .Timeout, 5);
await lambda.send(new DeleteFunctionCommand({ FunctionName: 'nodefn' }));
console.log('ok');
process.exit(0);
