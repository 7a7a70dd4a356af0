package parsers

var logParsers = []*Parser{}
