//! `sweep k8s`: a Kubernetes Indexed Job with one completion per shard (each pod's
//! `JOB_COMPLETION_INDEX` picks its shard), the experiment file shipped in a ConfigMap, results
//! on a shared PersistentVolumeClaim; and the report as a second Job to apply once the first
//! completes (Kubernetes has no job dependencies: `kubectl wait` stands in).
//!
//! Every string value is written as a JSON string, which is also a valid YAML scalar.

use super::{job_name, LaunchFile, LaunchSpec};

/// Where the pods run and what they mount.
#[derive(Debug, Clone)]
pub struct K8sOptions {
    /// A container image with `sweep` on its PATH.
    pub image: String,
    /// A ReadWriteMany PersistentVolumeClaim for the results.
    pub pvc: String,
    /// Pods at once (default: every shard).
    pub parallelism: usize,
}

const RESULTS: &str = "/results";

/// The training Job's failure policy: a pod evicted or preempted (`DisruptionTarget`), or
/// stopped by SIGTERM after checkpointing (exit 75, `crate::interrupt::RESUMABLE`), is replaced
/// without spending the backoff limit, and only once it has fully terminated.
const FAILURE_POLICY: &str =
    "  # A pod evicted or preempted (DisruptionTarget), or stopped by SIGTERM after checkpointing
  # (exit 75: interrupted, resumable), is replaced without spending the backoff limit; the
  # replacement resumes the runs from their checkpoints, and starts only once the old pod has
  # fully terminated (its checkpoint written).
  podReplacementPolicy: Failed
  podFailurePolicy:
    rules:
      - action: Ignore
        onPodConditions:
          - type: DisruptionTarget
      - action: Ignore
        onExitCodes:
          containerName: sweep
          operator: In
          values: [75]
";
const EXPERIMENT_DIR: &str = "/experiment";

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// The file name the experiment gets inside the pods.
fn file_name(spec: &LaunchSpec) -> String {
    spec.experiment
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "experiment.toml".into())
}

/// The pod template shared by both jobs: the `sweep` command, resources and mounts.
fn pod(spec: &LaunchSpec, opts: &K8sOptions, job: &str, args: &[String], cpus: usize) -> String {
    let command: Vec<String> = std::iter::once("sweep".to_owned())
        .chain(args.iter().cloned())
        .map(|a| q(&a))
        .collect();
    let (cpu, mem) = (q(&cpus.to_string()), q(&format!("{}Mi", spec.memory_mib)));
    format!(
        "  template:
    metadata:
      labels:
        app.kubernetes.io/name: dqn-sweep
        dqn-sweep/experiment: {job_q}
    spec:
      restartPolicy: Never
      # Time for every run to checkpoint after SIGTERM (eviction, preemption).
      terminationGracePeriodSeconds: {grace}
      containers:
        - name: sweep
          image: {image}
          command: [{command}]
          resources:
            requests: {{cpu: {cpu}, memory: {mem}}}
            limits: {{cpu: {cpu}, memory: {mem}}}
          volumeMounts:
            - {{name: results, mountPath: {results}}}
            - {{name: experiment, mountPath: {exp_dir}, readOnly: true}}
      volumes:
        - name: results
          persistentVolumeClaim: {{claimName: {pvc}}}
        - name: experiment
          configMap: {{name: {job}-experiment}}
",
        image = q(&opts.image),
        job_q = q(job),
        command = command.join(", "),
        results = q(RESULTS),
        exp_dir = q(EXPERIMENT_DIR),
        pvc = q(&opts.pvc),
        grace = spec.stop_margin_s,
    )
}

/// `train-job.yaml` (ConfigMap + Indexed Job) and `report-job.yaml` for `spec`.
pub fn files(spec: &LaunchSpec, opts: &K8sOptions) -> Vec<LaunchFile> {
    let job = job_name(&spec.name);
    let file = file_name(spec);
    let in_pod = format!("{EXPERIMENT_DIR}/{file}");
    let toml: String = spec
        .experiment_text
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    let train_args = [
        "run".to_owned(),
        in_pod.clone(),
        "--shards".into(),
        spec.shards.to_string(),
        "--out".into(),
        RESULTS.into(),
        "--threads".into(),
        spec.cpus.to_string(),
    ];
    let train = format!(
        "# {name}: {shards} shards of the sweep as a Kubernetes Indexed Job (written by `sweep k8s`).
# Each pod trains the shard JOB_COMPLETION_INDEX of {shards}; finished runs on the volume are
# reused, so re-applying after a failure trains only what is missing. Then the report:
#   kubectl apply -f train-job.yaml
#   kubectl wait --for=condition=complete --timeout=-1s job/{job}-train
#   kubectl apply -f report-job.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: {job}-experiment
data:
  {key}: |2
{toml}---
apiVersion: batch/v1
kind: Job
metadata:
  name: {job}-train
spec:
  completionMode: Indexed
  completions: {shards}
  parallelism: {parallelism}
  backoffLimit: {backoff}
  activeDeadlineSeconds: {deadline}
{FAILURE_POLICY}{pod}",
        name = spec.name,
        shards = spec.shards,
        key = q(&file),
        parallelism = opts.parallelism.clamp(1, spec.shards),
        backoff = 2 * spec.shards,
        deadline = spec.time_limit_s * spec.shards.div_ceil(opts.parallelism.clamp(1, spec.shards)) as u64,
        pod = pod(spec, opts, &job, &train_args, spec.cpus),
    );
    let report_args = ["report".to_owned(), in_pod, "--out".into(), RESULTS.into()];
    let report = format!(
        "# {name}: tables and charts from every shard's runs (written by `sweep k8s`). Apply once
# job/{job}-train has completed; it fails, naming them, if runs are missing.
apiVersion: batch/v1
kind: Job
metadata:
  name: {job}-report
spec:
  completions: 1
  backoffLimit: 1
{pod}",
        name = spec.name,
        pod = pod(spec, opts, &job, &report_args, spec.cpus.min(4)),
    );
    vec![
        LaunchFile {
            name: "train-job.yaml",
            text: train,
            executable: false,
        },
        LaunchFile {
            name: "report-job.yaml",
            text: report,
            executable: false,
        },
    ]
}
