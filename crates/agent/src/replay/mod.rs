//! Experience replay: the chapter's uniform ring ([`ReplayBuffer`]), proportional prioritized
//! replay over a [`SumTree`] ([`PrioritizedReplay`]), and [`FrameReplay`], which stores every
//! frame once and serves both rings' transitions as stacked observations — the one replay the
//! agent uses.

pub mod frames;
pub mod prioritized;
pub mod sum_tree;
pub mod uniform;

pub use frames::{FrameReplay, FrameStore, FrameTransition, Sampled};
pub use prioritized::{PerConfig, PerError, PrioritizedReplay};
pub use sum_tree::SumTree;
pub use uniform::ReplayBuffer;
