//! Update rows of `sweep bench`: gradient updates per second of one network kind on random
//! data, on the CPU and (with the `cuda` feature) the GPU.

use super::*;

/// Gradient updates per second of network kind `N` on random observations of `frame` values,
/// on the CPU.
pub(super) fn updates<N, E, const IN: usize, const ACT: usize>(
    what: &str,
    agent_cfg: AgentConfig,
    frame: usize,
    value: impl Fn(&mut ChaCha8Rng) -> E,
    count: usize,
) -> Measurement
where
    N: QNetOn<Cpu, E, IN, ACT>,
    E: ObsElem,
{
    updates_on::<N, E, IN, ACT, Cpu>(what, agent_cfg, frame, value, count)
        .expect("the CPU holds the networks")
}

/// [`updates`] on device `D`; fails if the device cannot be opened or hold the networks.
pub(super) fn updates_on<N, E, const IN: usize, const ACT: usize, D>(
    what: &str,
    agent_cfg: AgentConfig,
    frame: usize,
    value: impl Fn(&mut ChaCha8Rng) -> E,
    count: usize,
) -> Result<Measurement, String>
where
    N: QNetOn<D, E, IN, ACT>,
    E: ObsElem,
    D: AgentDevice,
{
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let dev = D::seeded(3)?;
    let mut agent: DqnAgent<N, E, IN, ACT, D> =
        DqnAgent::new(dev, &agent_cfg, &mut rng, frame, 1).map_err(|e| e.to_string())?;
    let obs = |rng: &mut ChaCha8Rng| (0..frame).map(|_| value(rng)).collect::<Vec<E>>();
    agent.begin_episode(&obs(&mut rng));
    let actions = <DqnAgent<N, E, IN, ACT, D> as crate::agent::QPolicy<E>>::ACTIONS;
    for _ in 0..1_000 {
        let next = obs(&mut rng);
        agent.remember(rng.gen_range(0..actions), 1.0, &next, false, false);
    }
    let on = if D::NAME == "cpu" {
        String::new()
    } else {
        format!(", on {}", D::NAME)
    };
    Ok(timed(
        format!(
            "agent.update, batch {} ({what}, {}{on})",
            agent_cfg.batch_size, agent_cfg.variant
        ),
        "updates/s",
        count,
        || {
            for i in 0..count {
                agent
                    .update(i as f64 / count as f64, &mut rng)
                    .expect("finite loss on random data");
            }
        },
    ))
}

/// The update rows of the CPU table on the first CUDA GPU (the same agents, configs and
/// random data); nothing, with a note on stderr, when no GPU can be opened.
#[cfg(feature = "cuda")]
pub(super) fn gpu(scale: f64) -> Vec<Measurement> {
    use dfdx::tensor::Cuda;
    let n = |base: f64| ((base * scale).max(1.0)) as usize;
    let float = |rng: &mut ChaCha8Rng| rng.gen::<f32>();
    let bit = |rng: &mut ChaCha8Rng| u8::from(rng.gen::<f32>() < 0.1);
    let pixel = |rng: &mut ChaCha8Rng| rng.gen::<u8>();
    let rows = [
        updates_on::<QNetMlp<4, 2>, f32, 4, 2, Cuda>(
            "MLP",
            AgentConfig::default(),
            4,
            float,
            n(2_000.0),
        ),
        updates_on::<MinAtarQNet<4, 36, 2304, 6>, u8, 2304, 6, Cuda>(
            "MinAtar CNN, 4 channels",
            pixel_agent("dqn"),
            400,
            bit,
            n(1_000.0),
        ),
        updates_on::<NatureQNet<4, 256, 102400, 6>, u8, 102400, 6, Cuda>(
            "Nature CNN, 84×84×4",
            pixel_agent("dqn"),
            4 * 84 * 84,
            pixel,
            n(300.0),
        ),
    ];
    rows.into_iter()
        .filter_map(|row| {
            row.map_err(|e| eprintln!("sweep bench: no GPU rows: {e}"))
                .ok()
        })
        .collect()
}
