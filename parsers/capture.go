package parsers

var captureParsers = []*Parser{}
