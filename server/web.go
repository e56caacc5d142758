package server

import "embed"

// webFiles is the explorer: a page, its script and its style sheet, served
// at / with no build step and nothing fetched from elsewhere.
//
//go:embed web
var webFiles embed.FS
