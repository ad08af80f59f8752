//! Replay rows of `sweep bench`: uniform and prioritized sampling from a filled buffer.

use super::*;

/// A replay buffer of 10,000 random CartPole-sized transitions in episodes of 100 steps.
pub(super) fn filled_replay(per: Option<PerConfig>, rng: &mut ChaCha8Rng) -> FrameReplay<f32> {
    let mut buffer = FrameReplay::new(10_000, 4, 1, per);
    fill(&mut buffer, 10_000, 4, |rng| rng.gen(), rng);
    buffer
}

/// Push `n` transitions of random observations (`frame` values each, stack of one frame).
pub(super) fn fill<E: ObsElem>(
    buffer: &mut FrameReplay<E>,
    n: usize,
    frame: usize,
    value: impl Fn(&mut ChaCha8Rng) -> E,
    rng: &mut ChaCha8Rng,
) {
    let obs = |rng: &mut ChaCha8Rng| (0..frame).map(|_| value(rng)).collect::<Vec<E>>();
    for i in 0..n {
        if i % 100 == 0 {
            buffer.begin_episode(&obs(rng));
        }
        let next = obs(rng);
        buffer.push(rng.gen_range(0..2), 1.0, &next, i % 100 == 99, false);
    }
}

pub(super) fn uniform_sampling(count: usize) -> Measurement {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let buffer = filled_replay(None, &mut rng);
    timed(
        "uniform replay: sample 32 of 10000".into(),
        "batches/s",
        count,
        || {
            for _ in 0..count {
                std::hint::black_box(buffer.sample(32, 0.0, &mut rng));
            }
        },
    )
}

pub(super) fn per_sampling(count: usize) -> Measurement {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut buffer = filled_replay(Some(PerConfig::default()), &mut rng);
    timed(
        "prioritized replay: sample 32 + update 32 priorities".into(),
        "batches/s",
        count,
        || {
            for _ in 0..count {
                let b = buffer.sample(32, 0.4, &mut rng);
                let slots = b.slots.expect("prioritized replay returns slots");
                let td: Vec<f64> = slots.iter().map(|_| rng.gen::<f64>() * 2.0 - 1.0).collect();
                buffer
                    .update_priorities(&slots, &td)
                    .expect("finite TD errors");
            }
        },
    )
}
