//! Which REST API resource and method answer a request path, as API Gateway chooses: a literal
//! segment beats a `{param}`, which beats a greedy `{proxy+}`; `{proxy+}` matches one or more
//! segments, so it never matches the root (`/` needs a method of its own); the method is the exact
//! one, else `ANY`.

/// A resource of the API and the methods it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub path: String,
    pub methods: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// The resource and the method defined on it that answers (the one asked, or ANY).
    Found { resource: &'a Resource, method: String },
    /// No resource matches the path.
    NoResource,
    /// A resource matches but has no such method (nor ANY): API Gateway answers 403 Missing
    /// Authentication Token for a REST API.
    NoMethod { resource: &'a Resource },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Greedy,
    Param,
    Literal,
}

/// How specifically `template` matches `path`: one score per segment, None when it does not match.
fn specificity(template: &str, path: &str) -> Option<Vec<Segment>> {
    let wanted: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let mut scores = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        if part.starts_with('{') && part.ends_with("+}") {
            // Greedy: the last segment, standing for one or more of the rest.
            return (i == parts.len() - 1 && wanted.len() > i).then(|| {
                scores.push(Segment::Greedy);
                scores
            });
        }
        let segment = wanted.get(i)?;
        if part.starts_with('{') && part.ends_with('}') {
            scores.push(Segment::Param);
        } else if part == segment {
            scores.push(Segment::Literal);
        } else {
            return None;
        }
    }
    (parts.len() == wanted.len()).then_some(scores)
}

pub fn route<'a>(resources: &'a [Resource], path: &str, method: &str) -> Route<'a> {
    let best = resources
        .iter()
        .filter_map(|resource| specificity(&resource.path, path).map(|score| (score, resource)))
        .max_by(|(a, _), (b, _)| a.cmp(b));
    let Some((_, resource)) = best else {
        return Route::NoResource;
    };
    let method = method.to_ascii_uppercase();
    let answering = [method.as_str(), "ANY"].into_iter().find(|m| resource.methods.iter().any(|have| have == m));
    match answering {
        Some(found) => Route::Found { resource, method: found.to_string() },
        None => Route::NoMethod { resource },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> Vec<Resource> {
        let r = |path: &str, methods: &[&str]| Resource {
            path: path.into(),
            methods: methods.iter().map(|m| m.to_string()).collect(),
        };
        vec![
            r("/", &["GET"]),
            r("/{proxy+}", &["ANY"]),
            r("/orders", &["GET", "POST"]),
            r("/orders/{id}", &["GET"]),
            r("/orders/{id}/items", &[]),
            r("/health", &["GET"]),
        ]
    }

    fn answer(path: &str, method: &str) -> Option<(String, String)> {
        let resources = api();
        match route(&resources, path, method) {
            Route::Found { resource, method } => Some((resource.path.clone(), method)),
            _ => None,
        }
    }

    #[test]
    fn the_most_specific_resource_answers() {
        assert_eq!(answer("/", "GET"), Some(("/".into(), "GET".into())));
        assert_eq!(answer("/orders", "post"), Some(("/orders".into(), "POST".into())));
        assert_eq!(answer("/orders/42", "GET"), Some(("/orders/{id}".into(), "GET".into())));
        assert_eq!(answer("/orders/42/extra/deep", "GET"), Some(("/{proxy+}".into(), "ANY".into())));
        assert_eq!(answer("/anything", "DELETE"), Some(("/{proxy+}".into(), "ANY".into())));
        assert_eq!(answer("/health/", "GET"), Some(("/health".into(), "GET".into())), "a trailing slash is one path");
    }

    #[test]
    fn a_matching_resource_without_the_method_is_named() {
        let resources = api();
        assert!(
            matches!(route(&resources, "/orders/42", "DELETE"), Route::NoMethod { resource } if resource.path == "/orders/{id}")
        );
        assert!(matches!(route(&resources, "/orders/42/items", "GET"), Route::NoMethod { .. }));
        assert!(matches!(route(&resources, "/", "POST"), Route::NoMethod { resource } if resource.path == "/"));
    }

    #[test]
    fn greedy_never_matches_the_root() {
        let only_proxy = vec![Resource { path: "/{proxy+}".into(), methods: vec!["ANY".into()] }];
        assert_eq!(route(&only_proxy, "/", "GET"), Route::NoResource);
        assert!(matches!(route(&only_proxy, "/a", "GET"), Route::Found { .. }));
    }
}
