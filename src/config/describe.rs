//! The effective configuration as text (`paddock config`): secrets masked, each job with its
//! schedules and their next fire times.

use super::schedule::schedule_fire_times;
use super::secrets::Secret;
use super::{Config, JobSettings};
use chrono::{DateTime, Utc};

impl Config {
    /// The effective configuration as text, secrets masked, with each job's next fire times.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let mask = |s: &Option<Secret>| match s {
            Some(_) => "*** (set)".to_string(),
            None => "(not set)".to_string(),
        };
        let mut out = String::new();
        let file = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(none: built-in defaults)".into());
        out.push_str(&format!("config file:        {file}\n"));
        out.push_str(&format!("database url:       {}\n", self.database_url));
        if let Some(read_url) = &self.database.read_url {
            out.push_str(&format!("read database url:  {read_url}\n"));
        }
        let db = &self.database;
        out.push_str(&format!(
            "database sessions:  connect timeout {} s (daemon retries {} s), statement_timeout \
             {} s, lock_timeout {} s\n",
            db.connect_timeout_secs,
            db.connect_retry_secs,
            db.statement_timeout_secs,
            db.lock_timeout_secs
        ));
        if !db.tls.is_empty() {
            out.push_str(&format!("database tls:       {}\n", db.tls.describe()));
        }
        out.push_str(&format!("api base url:       {}\n", self.api.base_url));
        out.push_str(&format!(
            "alerts:             {} rule(s), webhook {}, signing secret {}\n",
            self.alerts.rules.len(),
            (self.alerts.webhook_url.as_deref()).map_or("(none)".into(), super::mask_url),
            mask(&self.alerts.webhook_secret)
        ));
        out.push_str(&format!(
            "api username:       {}\n",
            mask(&self.api.username)
        ));
        out.push_str(&format!(
            "api password:       {}\n",
            mask(&self.api.password)
        ));
        out.push_str(&format!(
            "regions:            {}\n",
            self.api.regions.join(", ")
        ));
        out.push_str(&format!(
            "rate limit:         {} requests/s, spaced {} % wider\n",
            self.api.rate_limit_per_second, self.api.rate_limit_margin_percent
        ));
        out.push_str(&format!(
            "request timeout:    {} s\n",
            self.api.timeout_secs
        ));
        out.push_str(&format!("max attempts:       {}\n", self.api.max_attempts));
        out.push_str(&format!(
            "retry backoff:      {}–{} ms\n",
            self.api.backoff_min_ms, self.api.backoff_max_ms
        ));
        out.push_str(&format!("time zone:          {}\n", self.time_zone.name()));
        out.push_str(&format!("bookmakers:         {}\n", self.bookmakers.len()));
        match &self.publish.path {
            Some(path) => out.push_str(&format!("analytics copy:     {}\n", path.display())),
            None => out.push_str("analytics copy:     none ([publish] path)\n"),
        }
        out.push_str("jobs:\n");
        for job in self.jobs.values() {
            self.describe_job(job, now, &mut out);
        }
        match self.daemon.listen {
            Some(addr) => out.push_str(&format!(
                "daemon listener:    http://{addr}/healthz, /metrics\n"
            )),
            None => out.push_str("daemon listener:    off\n"),
        }
        out.push_str(&format!(
            "shutdown grace:     {} s\n",
            self.daemon.grace.as_secs()
        ));
        out
    }

    /// One job: enabled, what it does, each schedule with its window and next three times.
    fn describe_job(&self, job: &JobSettings, now: DateTime<Utc>, out: &mut String) {
        out.push_str(&format!(
            "  {:<24} {:<8}",
            job.kind.name(),
            if job.enabled { "enabled" } else { "disabled" },
        ));
        out.push_str(&job.summary());
        out.push('\n');
        let local_now = now.with_timezone(&self.time_zone);
        for schedule in &job.schedules {
            out.push_str(&format!("    cron \"{}\"", schedule.cron));
            if let Some(d) = schedule.window.racecard_days_ahead {
                out.push_str(&format!(" racecards today..+{d}d"));
            }
            if let Some(d) = schedule.window.result_days_back {
                out.push_str(&format!(" results -{d}d..today"));
            }
            out.push('\n');
            for t in schedule_fire_times(schedule, self.time_zone, local_now.to_utc(), 3) {
                out.push_str(&format!(
                    "      next: {}\n",
                    t.with_timezone(&self.time_zone)
                        .format("%Y-%m-%d %H:%M:%S %Z (%:z)")
                ));
            }
        }
    }
}
