//! Effective permissions (`Microsoft.Authorization/permissions`): an action
//! is allowed when an entry's `actions` match it and none of that entry's
//! `notActions` do; patterns use `*` and compare case-insensitively.

use serde_json::Value;

/// Built-in role definition ids and their names.
pub const ROLES: &[(&str, &str)] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
];

/// Whether `pattern` (with `*` wildcards) matches `action`.
pub fn matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match p.first() {
            None => a.is_empty(),
            Some(b'*') => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            Some(c) => a.first().is_some_and(|x| x.eq_ignore_ascii_case(c)) && go(&p[1..], &a[1..]),
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// Whether the permission entries allow `action`.
pub fn allows(entries: &[Value], action: &str) -> bool {
    entries.iter().any(|e| {
        let list = |k: &str| e[k].as_array().cloned().unwrap_or_default();
        list("actions")
            .iter()
            .any(|p| p.as_str().is_some_and(|p| matches(p, action)))
            && !list("notActions")
                .iter()
                .any(|p| p.as_str().is_some_and(|p| matches(p, action)))
    })
}

/// The strongest built-in role among role assignments, by definition id.
pub fn strongest_role(assignments: &[Value]) -> Option<&'static str> {
    let held: Vec<&str> = assignments
        .iter()
        .filter_map(|a| a["properties"]["roleDefinitionId"].as_str())
        .filter_map(|d| {
            ROLES
                .iter()
                .find(|(id, _)| d.to_ascii_lowercase().ends_with(id))
                .map(|(_, n)| *n)
        })
        .collect();
    ["Owner", "Contributor", "Reader"]
        .into_iter()
        .find(|r| held.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contributor_can_write_but_not_assign_roles() {
        let contributor = vec![
            json!({ "actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write", "Microsoft.Authorization/*/Delete"] }),
        ];
        assert!(allows(
            &contributor,
            "Microsoft.Compute/virtualMachines/write"
        ));
        assert!(!allows(
            &contributor,
            "Microsoft.Authorization/roleAssignments/write"
        ));
        let reader = vec![json!({ "actions": ["*/read"], "notActions": [] })];
        assert!(allows(&reader, "Microsoft.Compute/virtualMachines/read"));
        assert!(!allows(&reader, "Microsoft.Compute/virtualMachines/write"));
        assert!(!allows(&[], "x"));
    }

    #[test]
    fn roles_by_definition_id() {
        let a = vec![
            json!({ "properties": { "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7" } }),
            json!({ "properties": { "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/B24988AC-6180-42A0-AB88-20F7382DD24C" } }),
        ];
        assert_eq!(strongest_role(&a), Some("Contributor"));
        assert_eq!(strongest_role(&[]), None);
    }
}
