// TEMPORARY stub until the port lands.
#[path = "minatar/env.rs"]
mod env;
pub use env::MinAtarEnv;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Game {
    Breakout,
    SpaceInvaders,
    Freeway,
    Asterix,
    Seaquest,
}
impl Game {
    pub fn channels(self) -> usize {
        match self {
            Game::Breakout | Game::Asterix => 4,
            Game::SpaceInvaders => 6,
            Game::Freeway => 7,
            Game::Seaquest => 10,
        }
    }
}
pub struct MinAtar;
impl MinAtar {
    pub fn new(_g: Game, _p: f64, _d: bool, _s: u32) -> Self {
        todo!()
    }
    pub fn reset(&mut self) {
        todo!()
    }
    pub fn act(&mut self, _a: usize) -> (f32, bool) {
        todo!()
    }
    pub fn num_actions(&self) -> usize {
        6
    }
    pub fn channels(&self) -> usize {
        todo!()
    }
    pub fn state_chw(&self, _o: &mut [u8]) {
        todo!()
    }
}
