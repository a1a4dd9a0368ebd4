//! The dependency side of the composition tests.

wit_bindgen::generate!({ path: "../../wit", world: "provider" });

use std::cell::Cell;

use exports::skyport_test::greet::counter::{Guest as Counter, GuestTally};
use exports::skyport_test::greet::farewell::Guest as Farewell;
use exports::skyport_test::greet::greeter::Guest;
use skyport_test::greet::types::Tone;

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        format!("Hello, {name}, from a dependency!")
    }

    fn mood() -> Tone {
        Tone::Warm
    }

    fn secret() -> String {
        // Unless this dependency inherits `variables`, the host answers as
        // Spin's deny adapter does: `undefined`.
        match spin_sdk::variables::get("secret") {
            Ok(v) => format!("secret={v}"),
            Err(e) => format!("error={e:?}"),
        }
    }
}

impl Farewell for Greeter {
    fn bye(name: String) -> String {
        format!("Goodbye, {name}.")
    }
}

impl Counter for Greeter {
    type Tally = Tally;
}

struct Tally(Cell<u32>);

impl GuestTally for Tally {
    fn new(start: u32) -> Self {
        Tally(Cell::new(start))
    }

    fn add(&self, n: u32) -> u32 {
        self.0.set(self.0.get() + n);
        self.0.get()
    }
}

export!(Greeter);
