package parsers

var systemParsers = []*Parser{}
