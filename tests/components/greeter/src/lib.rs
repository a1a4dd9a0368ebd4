//! The dependency side of the composition tests.

wit_bindgen::generate!({ path: "../../wit", world: "provider" });

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

export!(Greeter);
