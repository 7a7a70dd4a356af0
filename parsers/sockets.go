package parsers

var socketParsers = []*Parser{}
