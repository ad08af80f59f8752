//! Rainbow's components inside the agent: a C51 head learns a return distribution (the
//! projection, the cross-entropy and the action selection wired together), noisy layers act
//! with fresh noise but answer evaluation with their mean weights, and every combination is
//! bit-for-bit deterministic from its seeds.

use dfdx::prelude::*;
use dqn_agent::config::{AgentConfig, Variant};
use dqn_agent::networks::components::{
    DuelingMlpLayers, MlpLayers, Net, NoisyFc, PlainFc, VectorInput,
};
use dqn_agent::networks::QNetOn;
use dqn_agent::{DqnAgent, QPolicy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type C51 = Net<MlpLayers<PlainFc, 4, 102>, VectorInput, 51>;
type Rainbow = Net<DuelingMlpLayers<NoisyFc, 4, 2, 51, 102>, VectorInput, 51>;
type NoisyQ = Net<MlpLayers<NoisyFc, 4, 2>, VectorInput, 1>;

const STATE: [f32; 4] = [0.5, -0.25, 0.1, 0.0];

fn config(variant: &str) -> AgentConfig {
    AgentConfig {
        variant: variant.parse::<Variant>().unwrap(),
        lr: 1e-3,
        batch_size: 32,
        buffer_size: 1000,
        init: dqn_agent::config::WeightInit::Uniform,
        ..AgentConfig::default()
    }
}

fn agent<N: QNetOn<Cpu, f32, 4, OUT>, const OUT: usize>(
    cfg: &AgentConfig,
    seed: u64,
) -> DqnAgent<N, f32, 4, OUT> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    DqnAgent::new(Cpu::seed_from_u64(seed), cfg, &mut rng, 4, 1).unwrap()
}

/// A one-step bandit: action 0 pays +1, action 1 pays −1, both end the episode. Trains
/// `updates` steps and returns the agent's losses.
fn train_bandit<N: QNetOn<Cpu, f32, 4, OUT>, const OUT: usize>(
    agent: &mut DqnAgent<N, f32, 4, OUT>,
    updates: usize,
) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut losses = Vec::new();
    for step in 0..updates {
        agent.begin_episode(&STATE);
        let action = rng.gen_range(0..2);
        let reward = if action == 0 { 1.0 } else { -1.0 };
        agent.remember(action, reward, &STATE, true, false);
        if step >= 64 {
            losses.extend(
                agent
                    .update(step as f64 / updates as f64, &mut rng)
                    .unwrap(),
            );
        }
    }
    losses
}

#[test]
fn c51_learns_the_return_distribution_of_a_bandit() {
    let cfg = config("c51");
    let mut a = agent::<C51, 102>(&cfg, 1);
    let losses = train_bandit(&mut a, 600);
    let q = a.q_values(&STATE);
    // Means of the learned distributions: +1 and −1.
    assert!(
        (q[0] - 1.0).abs() < 0.1 && (q[1] + 1.0).abs() < 0.1,
        "{q:?}"
    );
    // +1 lies halfway between the atoms 0.8 and 1.2 (Δz = 0.4 on [−10, 10]): the target puts
    // half the mass on each, and the cross-entropy falls towards that target's entropy, ln 2.
    let late: f32 = losses[losses.len() - 50..].iter().sum::<f32>() / 50.0;
    assert!(
        losses[0] > 2.0 && (late - 2f32.ln()).abs() < 0.1,
        "{} → {late}",
        losses[0]
    );
}

#[test]
fn rainbow_learns_the_bandit_and_noise_only_touches_exploration() {
    let mut cfg = config("rainbow");
    cfg.resolve(false).unwrap();
    assert_eq!(cfg.n_step, 3);
    let mut a = agent::<Rainbow, 102>(&cfg, 2);
    train_bandit(&mut a, 600);
    let q = a.q_values(&STATE);
    assert!(
        (q[0] - 1.0).abs() < 0.15 && (q[1] + 1.0).abs() < 0.15,
        "{q:?}"
    );
    // Evaluation uses the mean weights: the same answer every time, and after acting.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let before = a.q_values(&STATE);
    for _ in 0..10 {
        a.act_exploring(&STATE, 0.0, &mut rng).unwrap();
    }
    assert_eq!(before, a.q_values(&STATE));
}

#[test]
fn noisy_layers_explore_through_their_noise() {
    // An untrained noisy Q-net acting greedily (ε = 0) still tries both actions: its noise
    // changes the argmax from step to step; the mean weights always pick the same one.
    let cfg = config("noisy");
    let mut a = agent::<NoisyQ, 2>(&cfg, 4);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let picks: Vec<usize> = (0..200)
        .map(|_| a.act_exploring(&STATE, 0.0, &mut rng).unwrap())
        .collect();
    let zeros = picks.iter().filter(|&&p| p == 0).count();
    assert!((10..190).contains(&zeros), "{zeros} of 200");
    let greedy: Vec<usize> = (0..20).map(|_| a.act(&STATE, 0.0, &mut rng)).collect();
    assert!(greedy.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn every_component_combination_is_deterministic_from_its_seeds() {
    fn twice<N: QNetOn<Cpu, f32, 4, OUT>, const OUT: usize>(variant: &str) {
        let mut cfg = config(variant);
        cfg.resolve(false).unwrap();
        let run = || {
            let mut a = agent::<N, OUT>(&cfg, 7);
            let losses = train_bandit(&mut a, 150);
            (losses, a.q_values(&STATE))
        };
        let (first, second) = (run(), run());
        assert_eq!(first, second, "{variant}");
        assert!(first.0.iter().all(|l| l.is_finite()));
    }
    twice::<C51, 102>("c51");
    twice::<C51, 102>("double+per+c51");
    twice::<NoisyQ, 2>("noisy+double+per");
    twice::<Rainbow, 102>("rainbow");
}
