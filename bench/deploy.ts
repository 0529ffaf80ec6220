/**
 * State transitions of a one-service deploy through the shipped deploy state machine, in a local rack
 * made from the packaged template (the real handlers, moto, the ECS simulator), for a short and a long
 * rollout of simulated time, against a polling design following the same long rollout.
 * Then the services rows of bench/services.ts (update deploys of 1 / 5 / 20 services).
 * Usage: `npx tsx bench/deploy.ts [--quick]`. Runs moto on 127.0.0.1 and stops it.
 *
 * Rollout length: the simulator starts the service's tasks one after another, `taskStartSeconds`
 * each, and completes the deployment `taskStartSeconds` after the last, so a rollout of N seconds of
 * `desired` tasks is N / (desired + 1) per step. The virtual clock makes those seconds cost nothing.
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { RolloutRecord } from '../local/ecs-simulator.js';
import { buildAppTarball } from '../local/example-app.js';
import { startMoto } from '../local/moto.js';
import { provisionStack } from '../local/provision.js';
import { type DeployRun, LOCAL_ACCOUNT, LocalRack } from '../local/rack.js';
import type { Template } from '../local/template.js';
import { runServicesBench } from './services.js';
import type { BenchRow } from './table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APP_DIR = `${ROOT}examples/httpd`;
/** the example app's task count: its rollout is that many task starts, then the deployment's completion */
const DESIRED = Number(parse(readFileSync(`${APP_DIR}/rackless.yml`, 'utf8')).services.web.scale.count);

interface Measured<T = undefined> {
  run: DeployRun;
  /** what ran beside the deploy, at its end */
  beside?: T;
  rollout: RolloutRecord;
  /** virtual seconds from Watch's start to the deployment's completion event (the simulated rollout) */
  rolloutSeconds: number;
  /** virtual seconds from Watch's start to the end of the execution */
  watchedSeconds: number;
  watchStart: number;
}

export async function runDeployBench({ quick = false } = {}): Promise<BenchRow[]> {
  const shortSeconds = 30;
  const moto = await startMoto();
  try {
    const rack = await LocalRack.start({ endpoint: moto.url, stage: 'bench' });
    const tarball = await buildAppTarball(APP_DIR);
    const pollingMachine = await deployPollingReference(rack);

    const short = await deploy(rack, 'short', tarball, shortSeconds);
    if (short.run.status !== 'SUCCEEDED') throw new Error(`bench deploy failed: ${short.run.error} ${short.run.cause}`);
    // the rollout deadline Prepare derived from the example's manifest (shared/rollout/deadline.ts)
    const deadline = Number(short.run.output?.watch?.deadlineSeconds);
    if (!(deadline > 0)) throw new Error('the deploy state carries no watch.deadlineSeconds');
    // just inside the deadline, and just past it — not a multiple of 15 s: a poller notices on its
    // next check, not at the moment ECS finishes
    const insideSeconds = deadline - 7;
    const longSeconds = deadline + 7;
    const inside = await deploy(rack, 'inside', tarball, insideSeconds);
    // the polling reference follows the long rollout itself, on the same clock
    const long = await deploy(rack, 'long', tarball, longSeconds, (execution, rollout) => poll(rack, pollingMachine, execution, rollout));
    const polling = long.beside;
    if (!polling) throw new Error('the polling reference did not run');

    const rows: BenchRow[] = [
      {
        bench: 'deploy',
        row: `transitions, one-service deploy, ${shortSeconds} s rollout`,
        value: String(short.run.transitions),
        target: '≤ 12',
        ok: short.run.transitions <= 12,
        note: described(short),
      },
    ];
    for (const [seconds, m] of [
      [insideSeconds, inside],
      [longSeconds, long],
    ] as const) {
      const past = seconds > deadline;
      const where = past ? `past the ${deadline} s deadline the manifest gives` : `inside the ${deadline} s deadline the manifest gives`;
      const outcome =
        m.run.status === 'SUCCEEDED'
          ? ''
          : ` (${m.run.status} ${m.run.error}${m.run.statesEntered.includes('Verify') ? ', decided by Verify' : ''}${m.run.statesEntered.includes('Rollback') ? ', rolled back' : ''})`;
      rows.push({
        bench: 'deploy',
        row: `transitions, one-service deploy, ${seconds} s rollout (${where})`,
        value: `${m.run.transitions}${outcome}`,
        target: past ? 'FAILED ROLLOUT_DEADLINE by Verify, rolled back' : '≤ 12, = short',
        ok: past
          ? m.run.status === 'FAILED' && m.run.error === 'ROLLOUT_DEADLINE' && m.run.statesEntered.includes('Verify') && m.run.statesEntered.includes('Rollback')
          : m.run.status === 'SUCCEEDED' && m.run.transitions <= 12 && m.run.transitions === short.run.transitions,
        note: described(m),
      });
    }
    // the completed pipeline with Watch (one transition) replaced by the polling loop
    const pollingTotal = short.run.transitions - 1 + polling.transitions;
    const noticed = Math.round((polling.stopDate - long.watchStart) / 1000);
    rows.push({
      bench: 'deploy',
      row: `polling design (15 s DescribeServices loop on the local Step Functions), ${longSeconds} s rollout`,
      value: `${pollingTotal} transitions (${(pollingTotal / short.run.transitions).toFixed(1)}× a completed deploy), done after ${noticed} s`,
      target: 'reference',
      ok: true,
      note:
        `bench/polling-reference.asl.yml run beside the ${longSeconds} s deploy on one virtual clock: ${polling.checks} checks, each one DescribeServices to moto, ` +
        `${polling.checks - 1} waits of 15 s (the rest of the time is the checks' own work, which the clock counts), ` +
        `the rollout's state read from the ECS simulator (moto's answer does not follow a simulated rollout); no deadline in the reference. ` +
        (long.run.status === 'SUCCEEDED'
          ? `Event-driven: done when ECS said so, at ${Math.round(long.rolloutSeconds)} s`
          : `Event-driven: ECS's completion came at ${Math.round(long.rolloutSeconds)} s, after the ${deadline} s deadline had ended the deploy (${long.run.error})`),
    });
    // update deploys of 1 / 5 / 20 services, on a rack of its own in the same moto (bench/services.ts)
    rows.push(...(await runServicesBench({ quick, endpoint: moto.url })));
    return rows;
  } finally {
    await moto.stop();
  }
}

function described(m: Measured<unknown>): string {
  const end = m.run.status === 'SUCCEEDED' ? 'succeeded' : `${m.run.status} ${m.run.error}: ${m.run.cause?.slice(0, 200)}`;
  return `rollout ${m.rolloutSeconds.toFixed(0)} s of virtual time, ${m.watchedSeconds.toFixed(0)} s watched; ${end}; states: ${m.run.statesEntered.join(' → ')}`;
}

/**
 * One deploy whose rollout takes `seconds` of simulated time. `beside` starts something once the
 * deploy waits in Watch, and resolves with its end: started before the clock may move again.
 */
async function deploy<T = undefined>(
  rack: LocalRack,
  app: string,
  tarball: Buffer,
  seconds: number,
  beside?: (execution: string, rollout: RolloutRecord) => Promise<{ ended: Promise<T> }>,
): Promise<Measured<T>> {
  rack.simulator.next(app, { outcome: 'complete', taskStartSeconds: seconds / (DESIRED + 1) });
  const key = `apps/${app}/app.tar.gz`;
  const [execution] = await rack.started(() => rack.upload(key, tarball));
  if (!execution) throw new Error(`the upload of ${key} started no deploy`);
  // the rack is idle: the execution waits in Watch for the rollout, which waits on the clock
  if (!execution.statesEntered.includes('Watch')) throw new Error(`${execution.name} is not waiting in Watch: ${execution.statesEntered.join(', ')}`);
  const rollout = rack.simulator.rollouts.find((r) => r.startedBy?.execution === execution.name);
  if (!rollout) throw new Error(`${execution.name} started no rollout`);
  const alongside = await beside?.(execution.name, rollout);
  const [run, besideResult] = await Promise.all([rack.finish(execution.name), alongside?.ended]);
  // the rollout goes on after a deploy that stopped watching it
  await rack.simulator.settled();
  const record = rack.stepFunctions.execution(execution.name)!;
  const watch = record.history.find((e) => e.type === 'TaskStateEntered' && (e.stateEnteredEventDetails as { name: string }).name === 'Watch');
  const watchStart = watch!.timestamp.getTime();
  const completed = rack.simulator.emitted.find((e) => e.detail?.deploymentId === rollout.deploymentId && e.detail?.eventName === 'SERVICE_DEPLOYMENT_COMPLETED');
  if (!completed) throw new Error(`the rollout of ${execution.name} never completed`);
  return {
    run,
    ...(besideResult === undefined ? {} : { beside: besideResult }),
    rollout,
    watchStart,
    rolloutSeconds: (Date.parse(completed.detail.updatedAt) - watchStart) / 1000,
    watchedSeconds: (record.stopDate!.getTime() - watchStart) / 1000,
  };
}

/**
 * bench/polling-reference.asl.yml and its check function (bench/polling-check.ts) as a stack of their
 * own in the rack's moto, wired into the rack's Lambda and Step Functions services as the rack's own
 * stack is. The check reads the rollout's state from the ECS simulator: what DescribeServices would
 * say on AWS, which moto's does not.
 */
async function deployPollingReference(rack: LocalRack): Promise<string> {
  const definition = parse(readFileSync(`${ROOT}bench/polling-reference.asl.yml`, 'utf8'));
  // serverless-step-functions' `Fn::GetAtt: [check-rollout, Arn]` → this stack's function
  const marker = 'CHECK_ROLLOUT_ARN';
  const body = JSON.stringify(definition, (_key, value) => (value?.['Fn::GetAtt']?.[0] === 'check-rollout' ? marker : value));
  const arn = { 'Fn::GetAtt': ['CheckRolloutLambdaFunction', 'Arn'] };
  const parts = body.split(marker).flatMap((part, i) => (i === 0 ? [part] : [arn, part]));
  const assume = (service: string) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] });
  const template: Template = {
    Resources: {
      CheckRolloutRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: assume('lambda.amazonaws.com') } },
      CheckRolloutLambdaFunction: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          FunctionName: `${rack.name}-check-rollout`,
          Handler: 'bench/polling-check.handler',
          Runtime: 'nodejs22.x',
          Role: { 'Fn::GetAtt': ['CheckRolloutRole', 'Arn'] },
          // the local rack runs the module itself (local/lambda.ts); moto only keeps the function
          Code: { ZipFile: 'exports.handler = async () => { throw new Error("run by the local rack"); };' },
        },
      },
      PollingRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: assume('states.amazonaws.com') } },
      PollingReference: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          StateMachineName: `${rack.name}-polling-reference`,
          RoleArn: { 'Fn::GetAtt': ['PollingRole', 'Arn'] },
          DefinitionString: { 'Fn::Join': ['', parts] },
        },
      },
    },
    Outputs: { StateMachineArn: { Value: { Ref: 'PollingReference' } } },
  };
  const stack = await provisionStack({ template, stackName: `${rack.name}-polling-reference`, aws: rack.aws.factory, region: rack.region, account: LOCAL_ACCOUNT });
  const completed = (deploymentId: string) => rack.simulator.emitted.some((e) => e.detail?.deploymentId === deploymentId && e.detail?.eventName === 'SERVICE_DEPLOYMENT_COMPLETED');
  await rack.functions.load(stack, {
    aws: rack.functionsAws,
    region: rack.region,
    now: rack.scheduler.now,
    overrides: { rolloutState: (deploymentId: string) => (completed(deploymentId) ? 'COMPLETED' : 'IN_PROGRESS') },
  });
  await rack.stepFunctions.load(stack, rack.aws.sfn);
  return stack.outputs.StateMachineArn!;
}

interface Polled {
  transitions: number;
  checks: number;
  stopDate: number;
}

/** Starts the polling reference on a rollout; resolves with its end once it noticed the rollout's. */
async function poll(rack: LocalRack, stateMachineArn: string, execution: string, rollout: RolloutRecord): Promise<{ ended: Promise<Polled> }> {
  // the functions' client: the local Step Functions service answers it (plain moto would not run it)
  const sfn = rack.functionsAws(SFNClient);
  const checksBefore = rack.functions.invocationsOf('check-rollout').length;
  const name = `polling-${execution}`.slice(0, 80);
  const input = { cluster: rack.resources.cluster, service: rollout.serviceArn, deploymentId: rollout.deploymentId };
  // started before anyone waits on the clock: an untracked call in flight would let it jump
  await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  const ended = rack.finish(name).then((run) => {
    if (run.status !== 'SUCCEEDED') throw new Error(`the polling reference ended ${run.status}: ${run.error} ${run.cause}`);
    return {
      transitions: run.transitions,
      checks: rack.functions.invocationsOf('check-rollout').length - checksBefore,
      stopDate: rack.stepFunctions.execution(name)!.stopDate!.getTime(),
    };
  });
  return { ended };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.env.LOG_LEVEL ??= 'SILENT';
  const { printTable } = await import('./table.js');
  printTable(await runDeployBench({ quick: process.argv.includes('--quick') }));
}
