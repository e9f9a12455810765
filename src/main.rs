//! Entry point of the wasm bundle that Trunk builds.

fn main() {
    traffic_cop::start();
}
