//! Swapping the two sides: input 0 becomes input 1 and the other way round, in everything the report
//! says (descriptors, deltas, entries, origins, entry counts), so every pane re-renders from memory.

use crate::model::{Context, Deltas, Difference, Event, Report, Sides};

pub fn swapped<T>(sides: Sides<T>) -> Sides<T> {
    Sides::new(sides.input1, sides.input0)
}

pub fn swap_report(report: &mut Report) {
    for context in &mut report.contexts {
        swap_context(context);
    }
    for difference in &mut report.differences {
        swap_difference(difference);
    }
    for (_, entries) in &mut report.layer_entries {
        *entries = swapped(*entries);
    }
}

/// An event that arrives after the sides were swapped, swapped the same way.
pub fn swap_event(event: Event) -> Event {
    match event {
        Event::Context(mut context) => {
            swap_context(&mut context);
            Event::Context(context)
        }
        Event::Difference(mut difference) => {
            swap_difference(&mut difference);
            Event::Difference(difference)
        }
        Event::Provisional(mut difference) => {
            swap_difference(&mut difference);
            Event::Provisional(difference)
        }
        Event::LayerCompared { context, entries } => Event::LayerCompared {
            context,
            entries: swapped(entries),
        },
        other => other,
    }
}

fn swap_context(context: &mut Context) {
    let descriptors = std::mem::take(&mut context.descriptors);
    context.descriptors = swapped(descriptors);
}

fn swap_difference(difference: &mut Difference) {
    // Derived deltas follow their entries, swapped below.
    if let Deltas::Listed(deltas) = &mut difference.deltas {
        for delta in deltas {
            let values = std::mem::take(&mut delta.values);
            delta.values = swapped(values);
        }
    }
    if let Some(entries) = difference.entries.take() {
        difference.entries = Some(swapped(entries)).into();
    }
    if let Some(origin) = difference.origin.get() {
        difference.origin = Some(swapped(origin)).into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Aspect, ContextId, Delta, DiffKind, EntryFields, EntryMeta, Timestamp};
    use serde_json::json;

    #[test]
    fn a_file_difference_swapped_derives_its_deltas_from_its_swapped_entries() {
        let old = EntryFields::test_file("etc/a");
        let new = EntryFields {
            mtime: Timestamp::from_secs(2),
            ..old.clone()
        };
        let entries: Sides<Option<EntryMeta>> = Sides::new(Some(old.into()), Some(new.into()));
        let mut d = Difference {
            context: ContextId(0),
            kind: DiffKind::File,
            key: crate::model::DiffKey::EntryName,
            deltas: Deltas::of_entries(entries.as_ref().map(|e| e.as_ref()), false),
            entries: Some(entries).into(),
            origin: Default::default(),
            id: crate::model::DiffId::default(),
            nested: Default::default(),
            explanations: Default::default(),
        };
        let times = |d: &Difference| d.deltas()[0].values.clone();
        let before = times(&d);
        swap_difference(&mut d);
        assert_eq!(times(&d), Sides::new(before.input1, before.input0));
    }

    #[test]
    fn swapping_twice_gives_the_report_back() {
        let mut report = Report::default();
        report.differences.push(Difference {
            context: ContextId(0),
            kind: DiffKind::Cfg,
            key: "config".into(),
            deltas: vec![Delta::new(
                Aspect::Config,
                "Env[2]",
                json!(null),
                json!("A=1"),
            )]
            .into(),
            entries: Default::default(),
            origin: Some(Sides::new(Some(1), None)).into(),
            id: crate::model::DiffId::default(),
            nested: Default::default(),
            explanations: Default::default(),
        });
        report
            .layer_entries
            .push((ContextId(0), Sides::new(Some(5), Some(6))));
        swap_report(&mut report);
        let d = &report.differences[0];
        assert_eq!(
            d.deltas()[0].values,
            Sides::new(json!("A=1").into(), json!(null).into())
        );
        assert_eq!(d.origin.get(), Some(Sides::new(None, Some(1))));
        assert_eq!(report.layer_entries[0].1, Sides::new(Some(6), Some(5)));
        swap_report(&mut report);
        assert_eq!(report.differences[0].deltas()[0].values.input0, json!(null));
    }
}
