//! What a virtual machine's instance view says about its power. Azure puts it
//! among `statuses` as a `PowerState/<state>` code next to the provisioning
//! state; a VM that is still being made or failed has no power code yet.

use serde_json::Value;

/// A VM's power, as far as the platform cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Running,
    /// Starting, stopping, deallocating, or no power state reported yet.
    Changing,
    /// Stopped (powered off) but still allocated, and billed.
    Stopped,
    /// Stopped and released.
    Deallocated,
}

/// The power a `VirtualMachineInstanceView` reports, and its display text.
pub fn power(view: &Value) -> (Power, String) {
    let statuses = view["statuses"].as_array().cloned().unwrap_or_default();
    let status = statuses.iter().find(|s| {
        s["code"]
            .as_str()
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("powerstate/"))
    });
    let Some(status) = status else {
        // No power state: still provisioning (or failed); say which.
        let shown = statuses
            .iter()
            .find_map(|s| s["displayStatus"].as_str())
            .unwrap_or("No power state reported");
        return (Power::Changing, shown.to_string());
    };
    let code = status["code"].as_str().unwrap_or_default();
    let state = code["PowerState/".len()..].to_ascii_lowercase();
    let power = match state.as_str() {
        "running" => Power::Running,
        "stopped" => Power::Stopped,
        "deallocated" => Power::Deallocated,
        _ => Power::Changing,
    };
    let shown = status["displayStatus"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("VM {state}"));
    (power, shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(codes: &[(&str, &str)]) -> Value {
        json!({ "statuses": codes.iter().map(|(c, d)| json!({ "code": c, "level": "Info", "displayStatus": d })).collect::<Vec<_>>() })
    }

    #[test]
    fn reads_the_power_code_whatever_comes_first() {
        let v = view(&[
            ("ProvisioningState/succeeded", "Provisioning succeeded"),
            ("PowerState/deallocated", "VM deallocated"),
        ]);
        assert_eq!(power(&v), (Power::Deallocated, "VM deallocated".into()));
        let v = view(&[("PowerState/stopped", "VM stopped")]);
        assert_eq!(power(&v).0, Power::Stopped);
        let v = view(&[("PowerState/running", "VM running")]);
        assert_eq!(power(&v).0, Power::Running);
    }

    #[test]
    fn transitions_and_unknowns_are_changing() {
        for code in [
            "PowerState/starting",
            "PowerState/stopping",
            "PowerState/deallocating",
            "PowerState/unknown",
        ] {
            assert_eq!(power(&view(&[(code, "")])).0, Power::Changing, "{code}");
        }
        let v = view(&[("ProvisioningState/creating", "Creating")]);
        assert_eq!(power(&v), (Power::Changing, "Creating".into()));
        assert_eq!(power(&json!({})).0, Power::Changing);
    }

    #[test]
    fn codes_are_read_without_regard_to_case() {
        let v = view(&[("powerstate/Deallocated", "VM deallocated")]);
        assert_eq!(power(&v).0, Power::Deallocated);
    }
}
