//! The dispatch for agents with Rainbow's network components — a distributional C51 head,
//! noisy layers, or both, plain or dueling (`agent::networks::components`) — on the
//! classic-control MLPs and the MinAtar CNN (six network kinds per trunk), and every variant on
//! Revisiting Rainbow's MinAtar network (eight). `crate::compiled` rejects every other
//! combination before a run starts.

use super::episode_loop::Loop;
use super::{minatar_input, on_device, RunControl, RunOutcome, TrainError};
use crate::agent::networks::components::{
    DuelingMlpLayers, MinAtarDuelingLayers, MinAtarInput, MinAtarLayers, MinAtarSameInput,
    MlpLayers, Net, NoisyFc, PlainFc, RevisitingDuelingLayers, RevisitingLayers, VectorInput,
};
use crate::config::{DeviceKind, MinAtarNet, RunConfig};
use crate::env::EnvId;
use dfdx::prelude::Cpu;
#[cfg(feature = "cuda")]
use dfdx::tensor::Cuda;

/// `$run!(args…; F, ATOMS, form)` for the run's component switches: `F` plain or noisy
/// layers, 51 atoms (C51) or 1, `form` plain or dueling.
macro_rules! by_components {
    ($cfg:expr, $run:ident!($($args:tt)*)) => {{
        let v = $cfg.agent.variant;
        match (v.noisy, v.distributional, v.dueling) {
            (true, true, false) => $run!($($args)*; NoisyFc, 51, plain),
            (true, true, true) => $run!($($args)*; NoisyFc, 51, dueling),
            (true, false, false) => $run!($($args)*; NoisyFc, 1, plain),
            (true, false, true) => $run!($($args)*; NoisyFc, 1, dueling),
            (false, true, false) => $run!($($args)*; PlainFc, 51, plain),
            (false, true, true) => $run!($($args)*; PlainFc, 51, dueling),
            (false, false, _) => unreachable!("plain networks train in `train::train`"),
        }
    }};
}

/// [`by_components!`] with the two plain forms too (for a trunk `train::train` does not have).
macro_rules! by_all_components {
    ($cfg:expr, $run:ident!($($args:tt)*)) => {{
        let v = $cfg.agent.variant;
        match (v.noisy, v.distributional, v.dueling) {
            (false, false, false) => $run!($($args)*; PlainFc, 1, plain),
            (false, false, true) => $run!($($args)*; PlainFc, 1, dueling),
            _ => by_components!($cfg, $run!($($args)*)),
        }
    }};
}

/// The classic-control MLP with `$obs` inputs and `$act` actions.
macro_rules! mlp {
    ($cfg:expr, $p:expr, $d:ty, $obs:literal, $act:literal; $f:ty, $atoms:literal, plain) => {
        Loop::<
            Net<MlpLayers<$f, $obs, { $act * $atoms }>, VectorInput, $atoms>,
            f32,
            $obs,
            { $act * $atoms },
            $d,
        >::run($cfg, $p)
    };
    ($cfg:expr, $p:expr, $d:ty, $obs:literal, $act:literal; $f:ty, $atoms:literal, dueling) => {
        Loop::<
            Net<DuelingMlpLayers<$f, $obs, $act, $atoms, { $act * $atoms }>, VectorInput, $atoms>,
            f32,
            $obs,
            { $act * $atoms },
            $d,
        >::run($cfg, $p)
    };
}

/// The MinAtar paper's CNN on `$c` channels.
macro_rules! minatar {
    ($cfg:expr, $p:expr, $d:ty, $c:literal; $f:ty, $atoms:literal, plain) => {
        Loop::<
            Net<
                MinAtarLayers<$f, { 9 * $c }, { minatar_input($c) }, { 6 * $atoms }>,
                MinAtarInput<$c>,
                $atoms,
            >,
            u8,
            { minatar_input($c) },
            { 6 * $atoms },
            $d,
        >::run($cfg, $p)
    };
    ($cfg:expr, $p:expr, $d:ty, $c:literal; $f:ty, $atoms:literal, dueling) => {
        Loop::<
            Net<
                MinAtarDuelingLayers<
                    $f,
                    { 9 * $c },
                    { minatar_input($c) },
                    6,
                    $atoms,
                    { 6 * $atoms },
                >,
                MinAtarInput<$c>,
                $atoms,
            >,
            u8,
            { minatar_input($c) },
            { 6 * $atoms },
            $d,
        >::run($cfg, $p)
    };
}

/// Revisiting Rainbow's MinAtar CNN on `$c` channels.
macro_rules! revisiting {
    ($cfg:expr, $p:expr, $d:ty, $c:literal; $f:ty, $atoms:literal, plain) => {
        Loop::<
            Net<
                RevisitingLayers<$f, { 9 * $c }, { same_input($c) }, { 6 * $atoms }>,
                MinAtarSameInput<$c>,
                $atoms,
            >,
            u8,
            { same_input($c) },
            { 6 * $atoms },
            $d,
        >::run($cfg, $p)
    };
    ($cfg:expr, $p:expr, $d:ty, $c:literal; $f:ty, $atoms:literal, dueling) => {
        Loop::<
            Net<
                RevisitingDuelingLayers<
                    $f,
                    { 9 * $c },
                    { same_input($c) },
                    6,
                    $atoms,
                    { 6 * $atoms },
                >,
                MinAtarSameInput<$c>,
                $atoms,
            >,
            u8,
            { same_input($c) },
            { 6 * $atoms },
            $d,
        >::run($cfg, $p)
    };
}

/// Network inputs of Revisiting Rainbow's MinAtar CNN: 10×10 SAME positions × 3×3×C patches.
const fn same_input(channels: usize) -> usize {
    100 * 9 * channels
}

/// The three classic-control tasks' MLPs on device `$d`.
macro_rules! classic {
    ($d:ty; $cfg:expr, $p:expr) => {
        match $cfg.env.id {
            EnvId::CartPole(_) => by_components!($cfg, mlp!($cfg, $p, $d, 4, 2)),
            EnvId::Acrobot => by_components!($cfg, mlp!($cfg, $p, $d, 6, 3)),
            EnvId::MountainCar => by_components!($cfg, mlp!($cfg, $p, $d, 2, 3)),
            _ => unreachable!("a classic-control task"),
        }
    };
}

/// The MinAtar paper's CNN by channel count, on device `$d`.
macro_rules! valid_padding {
    ($d:ty; $cfg:expr, $p:expr) => {
        match $cfg.env.observe_len() / 100 {
            4 => by_components!($cfg, minatar!($cfg, $p, $d, 4)),
            6 => by_components!($cfg, minatar!($cfg, $p, $d, 6)),
            7 => by_components!($cfg, minatar!($cfg, $p, $d, 7)),
            10 => by_components!($cfg, minatar!($cfg, $p, $d, 10)),
            c => unreachable!("MinAtar games have 4, 6, 7 or 10 channels, not {c}"),
        }
    };
}

/// Revisiting Rainbow's CNN by channel count, on device `$d`.
macro_rules! same_padding {
    ($d:ty; $cfg:expr, $p:expr) => {
        match $cfg.env.observe_len() / 100 {
            4 => by_all_components!($cfg, revisiting!($cfg, $p, $d, 4)),
            6 => by_all_components!($cfg, revisiting!($cfg, $p, $d, 6)),
            7 => by_all_components!($cfg, revisiting!($cfg, $p, $d, 7)),
            10 => by_all_components!($cfg, revisiting!($cfg, $p, $d, 10)),
            c => unreachable!("MinAtar games have 4, 6, 7 or 10 channels, not {c}"),
        }
    };
}

/// Train an agent whose variant has a C51 head or noisy layers, or with Revisiting Rainbow's
/// MinAtar network.
pub(super) fn train(cfg: &RunConfig, ctl: &RunControl) -> Result<RunOutcome, TrainError> {
    match cfg.env.id {
        EnvId::MinAtar(_) if cfg.agent.minatar_net == MinAtarNet::RevisitingRainbow => {
            on_device!(cfg, same_padding!(cfg, ctl))
        }
        EnvId::MinAtar(_) => on_device!(cfg, valid_padding!(cfg, ctl)),
        EnvId::Atari(_) => unreachable!("checked: no component networks for the Nature CNN"),
        _ => on_device!(cfg, classic!(cfg, ctl)),
    }
}
