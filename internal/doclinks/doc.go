// Package doclinks keeps the repository's Markdown honest: its test checks
// that every relative link in a tracked .md file (docs/ARCHITECTURE.md
// above all) names a file or folder that exists, and that every #anchor
// names a heading of the page it points into, so the map of the code
// cannot silently drift from the code it maps. It has no code of its own;
// `make test` and `make lint` run its test.
package doclinks
