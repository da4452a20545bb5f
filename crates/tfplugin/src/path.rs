//! Attribute paths: where in a value a diagnostic or an error points.

use std::fmt;

/// One step of an [`AttributePath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An attribute of an object or block, by name.
    Attribute(String),
    /// An element of a map, by key.
    Key(String),
    /// An element of a list or tuple, by index. (Set elements have no stable address; paths stop at the set.)
    Index(i64),
}

/// A path from the root of a resource's or provider's configuration to one value inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The empty path: the whole value.
    pub fn root() -> Self {
        Self(Vec::new())
    }
    /// A path with a single attribute step.
    pub fn attr(name: impl Into<String>) -> Self {
        Self(vec![PathStep::Attribute(name.into())])
    }
    /// This path followed by an attribute step.
    pub fn with_attr(&self, name: impl Into<String>) -> Self {
        self.with(PathStep::Attribute(name.into()))
    }
    /// This path followed by a map-key step.
    pub fn with_key(&self, key: impl Into<String>) -> Self {
        self.with(PathStep::Key(key.into()))
    }
    /// This path followed by an index step.
    pub fn with_index(&self, index: usize) -> Self {
        self.with(PathStep::Index(index as i64))
    }
    /// This path followed by `step`.
    pub fn with(&self, step: PathStep) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        Self(steps)
    }
    /// Whether this is the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for AttributePath {
    /// Renders the path the way HCL users write it: `destination[0].bucket_arn`, `tags["env"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => f.write_str(name)?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::Key(key) => write!(f, "[{key:?}]")?,
                PathStep::Index(idx) => write!(f, "[{idx}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_hcl() {
        let p = AttributePath::attr("destination").with_index(1).with_attr("tags").with_key("env");
        assert_eq!(p.to_string(), r#"destination[1].tags["env"]"#);
        assert_eq!(AttributePath::root().to_string(), "");
    }
}
