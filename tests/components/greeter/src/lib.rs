//! The dependency side of the composition tests.

wit_bindgen::generate!({ path: "../../wit", world: "provider" });

use exports::skyport_test::greet::greeter::Guest;

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        format!("Hello, {name}, from a dependency!")
    }

    fn secret() -> String {
        // Traps on the host side unless this dependency inherits `variables`.
        match spin_sdk::variables::get("secret") {
            Ok(v) => format!("secret={v}"),
            Err(e) => format!("error={e:?}"),
        }
    }
}

export!(Greeter);
