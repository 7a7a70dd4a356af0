package parsers

// logParsers read logs and clocks: the one-line clock files first (their
// detectors want exactly one line), then the kernel-log families from the
// strongest signature to the weakest (journalctl's header or JSON, dmesg's
// bracketed stamps, syslog's "stamp host tag:"), and application logs, the
// loosest, last.
var logParsers = []*Parser{
	dateParser,
	uptimeSinceParser,
	procUptimeParser,
	journalParser,
	dmesgParser,
	syslogParser,
	appLogParser,
}
