//! `sluice top` on a terminal: the view as a table (ratatui), refreshed every interval,
//! with a selected row and keys that act on it through the REST API:
//!
//! | key | on a connector row | on a task row |
//! |-----|--------------------|---------------|
//! | `p` | pause | pause its connector |
//! | `r` | resume | resume its connector |
//! | `s` | stop | stop its connector |
//! | `R` | restart with its tasks | restart the task |
//! | `f` | restart its failed tasks | same, for its connector |
//! | ↑ ↓ / `k` `j` | select | |
//! | `q`, Esc, Ctrl-C | quit | |

use std::process::ExitCode;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row as TableRow, Table, TableState};
use ratatui::Frame;
use reqwest::Method;

use super::view::{self, View, COLUMNS};
use crate::rest_client::{path_segment, RestTarget};

struct App {
    view: View,
    /// The selected row, by what it shows (connector, task) so a refresh keeps it.
    selected: Option<(String, Option<u32>)>,
    /// The last action's outcome, or the last refresh error.
    status: String,
    target: String,
}

impl App {
    /// Indexes of the rows that can be selected (not trace lines).
    fn selectable(&self) -> Vec<usize> {
        (0..self.view.rows.len())
            .filter(|&i| !self.view.rows[i].trace)
            .collect()
    }

    fn selected_index(&self) -> Option<usize> {
        let (c, t) = self.selected.as_ref()?;
        self.view
            .rows
            .iter()
            .position(|r| !r.trace && &r.connector == c && r.task == *t)
    }

    fn move_selection(&mut self, by: isize) {
        let rows = self.selectable();
        if rows.is_empty() {
            self.selected = None;
            return;
        }
        let at = self
            .selected_index()
            .and_then(|i| rows.iter().position(|&r| r == i));
        let next = match at {
            None => 0,
            Some(p) => (p as isize + by).clamp(0, rows.len() as isize - 1) as usize,
        };
        let r = &self.view.rows[rows[next]];
        self.selected = Some((r.connector.clone(), r.task));
    }

    fn draw(&self, f: &mut Frame) {
        let [title, table_area, help, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(f.area());
        f.render_widget(
            Paragraph::new(format!("sluice top · {}", self.target))
                .style(Style::default().add_modifier(Modifier::BOLD)),
            title,
        );
        let widths = [
            Constraint::Min(22),
            Constraint::Length(6),
            Constraint::Length(10),
            Constraint::Length(20),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(6),
        ];
        let rows: Vec<TableRow> = self
            .view
            .rows
            .iter()
            .map(|r| {
                if r.trace {
                    return TableRow::new(vec![Cell::from(r.cells[0].clone())])
                        .style(Style::default().fg(Color::Red));
                }
                TableRow::new(
                    r.cells
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let cell = Cell::from(c.clone());
                            if i == 2 {
                                cell.style(Style::default().fg(state_color(c)))
                            } else {
                                cell
                            }
                        })
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let table = Table::new(rows, widths)
            .header(
                TableRow::new(COLUMNS.to_vec())
                    .style(Style::default().add_modifier(Modifier::BOLD)),
            )
            .block(Block::bordered())
            .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
            .highlight_symbol("> ");
        let mut state = TableState::default().with_selected(self.selected_index());
        f.render_stateful_widget(table, table_area, &mut state);
        f.render_widget(
            Paragraph::new(Line::from(
                "↑↓ select · p pause · r resume · s stop · R restart · f restart failed · q quit",
            ))
            .style(Style::default().fg(Color::DarkGray)),
            help,
        );
        let mut notes = self.status.clone();
        for e in &self.view.unreachable {
            notes.push_str(&format!(" · metrics not available: {}", e));
        }
        f.render_widget(Paragraph::new(notes), status);
    }
}

fn state_color(state: &str) -> Color {
    match state {
        "RUNNING" => Color::Green,
        "PAUSED" => Color::Yellow,
        "FAILED" => Color::Red,
        "STOPPED" => Color::Gray,
        _ => Color::Magenta,
    }
}

/// What a key does to the selected row: the request and what to say when it is done.
fn action(key: char, connector: &str, task: Option<u32>) -> Option<(Method, String, String)> {
    let c = format!("/connectors/{}", path_segment(connector));
    let (method, path, what) = match (key, task) {
        ('p', _) => (
            Method::PUT,
            format!("{c}/pause"),
            format!("pause {connector}"),
        ),
        ('r', _) => (
            Method::PUT,
            format!("{c}/resume"),
            format!("resume {connector}"),
        ),
        ('s', _) => (
            Method::PUT,
            format!("{c}/stop"),
            format!("stop {connector}"),
        ),
        ('R', None) => (
            Method::POST,
            format!("{c}/restart?includeTasks=true&onlyFailed=false"),
            format!("restart {connector} with its tasks"),
        ),
        ('R', Some(t)) => (
            Method::POST,
            format!("{c}/tasks/{t}/restart"),
            format!("restart task {t} of {connector}"),
        ),
        ('f', _) => (
            Method::POST,
            format!("{c}/restart?includeTasks=true&onlyFailed=true"),
            format!("restart the failed tasks of {connector}"),
        ),
        _ => return None,
    };
    Some((method, path, what))
}

pub async fn run(target: RestTarget, client: reqwest::Client, interval: Duration) -> ExitCode {
    // crossterm reads keys blocking: a thread hands them over
    let (tx, mut keys) = tokio::sync::mpsc::unbounded_channel::<KeyEvent>();
    std::thread::spawn(move || loop {
        match event::read() {
            Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => {
                if tx.send(k).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    });
    let mut terminal = ratatui::init();
    let mut app = App {
        view: View::default(),
        selected: None,
        status: "loading…".into(),
        target: target.base().to_string(),
    };
    let mut tick = tokio::time::interval(interval);
    let code = loop {
        if let Err(e) = terminal.draw(|f| app.draw(f)) {
            ratatui::restore();
            eprintln!("sluice top: {}", e);
            return ExitCode::FAILURE;
        }
        let refresh = tokio::select! {
            _ = tick.tick() => true,
            k = keys.recv() => {
                let Some(k) = k else { break ExitCode::SUCCESS };
                match k.code {
                    KeyCode::Char('q') | KeyCode::Esc => break ExitCode::SUCCESS,
                    KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                        break ExitCode::SUCCESS
                    }
                    KeyCode::Up | KeyCode::Char('k') => { app.move_selection(-1); false }
                    KeyCode::Down | KeyCode::Char('j') => { app.move_selection(1); false }
                    KeyCode::Char(ch) => {
                        let selected = app.selected.clone();
                        match selected.and_then(|(c, t)| action(ch, &c, t)) {
                            Some((method, path, what)) => {
                                let url = format!("{}{}", target.base(), path);
                                app.status = match target.send(&client, method, &url).await {
                                    Ok(_) => format!("{what}: requested"),
                                    Err(e) => format!("{what}: {e}"),
                                };
                                true
                            }
                            None => false,
                        }
                    }
                    _ => false,
                }
            }
        };
        if refresh {
            match view::snapshot(&target, &client).await {
                Ok(v) => {
                    app.view = v;
                    if app.selected_index().is_none() {
                        app.move_selection(0);
                    }
                    if app.status == "loading…" {
                        app.status.clear();
                    }
                }
                Err(e) => app.status = format!("cannot refresh: {e}"),
            }
        }
    };
    ratatui::restore();
    code
}
