// Package plot draws the harness's line charts as PNG images with nothing
// but the standard library's image packages and the 7x13 bitmap font of
// golang.org/x/image/font/basicfont: axes with ticks and labels, a log2 x
// axis (concurrency) or a linear one, a linear or log10 y axis, one
// coloured line with markers per series, and a legend.
//
// It draws what the harness needs and no more; it is not a general plotting
// library.
package plot
