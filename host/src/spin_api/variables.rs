//! `fermyon:spin/variables@2.0.0`: a component reads only the variables its
//! manifest declares, rendered from the app variables resolved at start-up.

use super::fermyon::spin::variables::{Error, Host};
use crate::state::HostState;
use crate::variables::check_name;

impl Host for HostState {
    fn get(&mut self, name: String) -> Result<String, Error> {
        check_name(&name).map_err(Error::InvalidName)?;
        let grants = &self.grants;
        let Some(template) = grants.variables.get(&name) else {
            return Err(Error::Undefined(format!(
                "component `{}` declares no variable `{name}`; add it under `[component.{}.variables]`",
                grants.component, grants.component
            )));
        };
        template
            .render(&grants.values)
            .map(|r| r.value)
            .map_err(|missing| Error::Undefined(format!("app variable `{missing}` has no value")))
    }
}
