//! Charts drawn as SVG on the server: no chart library reaches the browser, and a chart reads
//! without JavaScript. Each has a `<title>` and a `<desc>` (the figures in words) that screen
//! readers announce, and draws with CSS classes (`style/main.css`) so that the light and the
//! dark theme both read; the panel puts the same figures in a table beside it.

use std::fmt::Write;

/// One series of a bar chart: its name (the legend), its CSS class and a value per category.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub values: Vec<i64>,
}

const WIDTH: i64 = 640;
const HEIGHT: i64 = 220;
const LEFT: i64 = 44;
const BOTTOM: i64 = 36;
const TOP: i64 = 24;

/// Text for XML: labels may hold what people typed (a `utm_source`, a site's address).
/// Control characters, which XML does not allow, are dropped.
pub fn escape(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    // Our attributes are all double-quoted: `&`, `<`, `>` and `"` are all that must go.
    html_escape::encode_double_quoted_attribute(&text).into_owned()
}

/// A round top for the axis: 1, 2 or 5 times a power of ten, at least `max` (and at least 1).
fn axis_top(max: i64) -> i64 {
    let max = max.max(1);
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if step * m >= max {
                return step * m;
            }
        }
        step *= 10;
    }
}

fn open(out: &mut String, id: &str, title: &str, desc: &str) {
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"{id}-t {id}-d\" preserveAspectRatio=\"xMinYMin meet\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(desc)
    );
}

/// Bars per category, the series side by side; `labels` name the categories (every one that
/// fits is written under the axis). `id` must be unique on the page.
pub fn bars(id: &str, title: &str, labels: &[String], series: &[Series]) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let top = axis_top(max);
    let mut desc = String::new();
    for (i, label) in labels.iter().enumerate() {
        let figures: Vec<String> = series
            .iter()
            .map(|s| format!("{} {}", s.values.get(i).copied().unwrap_or(0), s.name))
            .collect();
        let _ = write!(desc, "{label}: {}. ", figures.join(", "));
    }
    if labels.is_empty() {
        desc.push_str("Nothing to show yet.");
    }
    let mut out = String::new();
    open(&mut out, id, title, &desc);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let plot_w = WIDTH - LEFT - 8;
    // The axis: 0, half and the top, with light lines across.
    for (value, y) in [(0, TOP + plot_h), (top / 2, TOP + plot_h / 2), (top, TOP)] {
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/>\
             <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{value}</text>",
            LEFT + plot_w,
            LEFT - 6,
            y + 4
        );
    }
    let n = labels.len().max(1) as i64;
    let slot = plot_w as f64 / n as f64;
    let per = series.len().max(1) as f64;
    let bar_w = (slot * 0.8 / per).max(1.0);
    // Labels under the axis: as many as fit (about one per 60 units).
    let every = ((60.0 / slot).ceil() as usize).max(1);
    for (i, label) in labels.iter().enumerate() {
        let x0 = LEFT as f64 + slot * i as f64 + slot * 0.1;
        for (k, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0);
            let h = (v as f64 / top as f64 * plot_h as f64).round();
            let _ = write!(
                out,
                "<rect class=\"{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\">\
                 <title>{}: {v} {}</title></rect>",
                escape(s.class),
                x0 + bar_w * k as f64,
                (TOP + plot_h) as f64 - h,
                bar_w,
                escape(label),
                escape(s.name)
            );
        }
        if i % every == 0 {
            let _ = write!(
                out,
                "<text class=\"axis\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                LEFT as f64 + slot * (i as f64 + 0.5),
                HEIGHT - BOTTOM + 16,
                escape(label)
            );
        }
    }
    // The legend, top right.
    let mut x = WIDTH - 8;
    for s in series.iter().rev() {
        let width = 14 + 7 * s.name.chars().count() as i64;
        x -= width + 10;
        let _ = write!(
            out,
            "<rect class=\"{}\" x=\"{x}\" y=\"6\" width=\"10\" height=\"10\"/>\
             <text class=\"legend\" x=\"{}\" y=\"15\">{}</text>",
            escape(s.class),
            x + 14,
            escape(s.name)
        );
    }
    out.push_str("</svg>");
    out
}

/// The funnel: one bar a stage, as wide as its share of the first stage, with the figure and
/// that share written beside it.
pub fn funnel(id: &str, title: &str, stages: &[(&str, i64)]) -> String {
    let first = stages.first().map(|s| s.1).unwrap_or(0);
    let widest = stages.iter().map(|s| s.1).max().unwrap_or(0).max(1);
    let share = |v: i64| {
        if first > 0 {
            format!(" ({}%)", v * 100 / first)
        } else {
            String::new()
        }
    };
    let desc: Vec<String> = stages
        .iter()
        .map(|(label, v)| format!("{label}: {v}{}", share(*v)))
        .collect();
    let mut out = String::new();
    open(&mut out, id, title, &(desc.join(". ") + "."));
    let row = (HEIGHT - 16) / stages.len().max(1) as i64;
    let label_w = 150;
    let bar_room = WIDTH - label_w - 150;
    for (i, (label, v)) in stages.iter().enumerate() {
        let y = 8 + row * i as i64;
        let w = (*v as f64 / widest as f64 * bar_room as f64)
            .round()
            .max(1.0);
        let _ = write!(
            out,
            "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect class=\"stage stage-{i}\" x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"{}\"/>\
             <text class=\"figure\" x=\"{}\" y=\"{}\">{v}{}</text>",
            label_w - 8,
            y + row / 2 + 4,
            escape(label),
            row - 10,
            label_w as f64 + w + 8.0,
            y + row / 2 + 4,
            share(*v)
        );
    }
    out.push_str("</svg>");
    out
}

/// A small line of `values` (oldest first) for a list row: no axis, its figures in its
/// `<title>`; drawn in the text's colour.
pub fn sparkline(title: &str, values: &[i64]) -> String {
    const W: i64 = 84;
    const H: i64 = 20;
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = W as f64 / (values.len().max(2) - 1) as f64;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let y = (H - 2) as f64 - *v as f64 / max * (H - 4) as f64;
            format!("{:.1},{y:.1}", i as f64 * step)
        })
        .collect();
    format!(
        "<svg class=\"spark\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-label=\"{t}\"><title>{t}</title><polyline fill=\"none\" stroke=\"currentColor\" \
         stroke-width=\"1.5\" points=\"{}\"/></svg>",
        points.join(" "),
        t = escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_draws_each_day_and_says_them() {
        let svg = sparkline("Entries per day: 0, 2, 4", &[0, 2, 4]);
        assert!(
            svg.contains("<title>Entries per day: 0, 2, 4</title>"),
            "{svg}"
        );
        // Three points: the highest at the top, zero at the bottom.
        assert!(
            svg.contains("points=\"0.0,18.0 42.0,10.0 84.0,2.0\""),
            "{svg}"
        );
        // Nothing yet: a flat line, no division by zero.
        assert!(sparkline("none", &[0, 0]).contains("points=\"0.0,18.0 84.0,18.0\""));
    }

    #[test]
    fn the_axis_ends_on_a_round_figure() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(3), 5);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(200), 200);
        assert_eq!(axis_top(201), 500);
    }

    #[test]
    fn a_chart_names_itself_and_says_its_figures_in_words() {
        let svg = bars(
            "e",
            "Entries per hour",
            &["10:00".into(), "11:00".into()],
            &[Series {
                name: "confirmed",
                class: "s-confirmed",
                values: vec![3, 0],
            }],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title id=\"e-t\">Entries per hour</title>"));
        assert!(svg.contains("10:00: 3 confirmed. 11:00: 0 confirmed."));
        assert_eq!(svg.matches("<rect class=\"s-confirmed\"").count(), 3);
    }

    #[test]
    fn labels_people_wrote_cannot_break_out_of_the_svg() {
        let svg = bars(
            "x",
            "t",
            &["<script>alert(1)</script>".into()],
            &[Series {
                name: "views",
                class: "s-views",
                values: vec![1],
            }],
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn the_funnel_gives_each_stage_its_share_of_the_first() {
        let svg = funnel("f", "Funnel", &[("Saw the page", 200), ("Entered", 50)]);
        assert!(svg.contains("Saw the page: 200 (100%). Entered: 50 (25%)."));
    }
}
