// SPDX-License-Identifier: BSD-3-Clause
// LineChart: a small Canvas line chart of the last samples (one a second), with its title and latest value.
import QtQuick
import QtQuick.Controls

Canvas {
    id: chart
    property string title
    property var samples: []
    property color lineColor: "#2f80ed"
    property var format: v => String(v)
    onSamplesChanged: requestPaint()
    onPaint: {
        const ctx = getContext("2d")
        ctx.reset()
        const w = width, h = height, top = 34, n = samples.length
        ctx.fillStyle = palette.base
        ctx.fillRect(0, 0, w, h)
        const max = Math.max(1, ...samples)
        ctx.strokeStyle = palette.mid
        ctx.lineWidth = 1
        for (let i = 0; i <= 4; ++i) {
            const y = top + (h - top - 4) * i / 4
            ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke()
        }
        if (n > 1) {
            ctx.strokeStyle = lineColor
            ctx.lineWidth = 2
            ctx.beginPath()
            for (let i = 0; i < n; ++i) {
                const x = w * i / (n - 1), y = top + (h - top - 4) * (1 - samples[i] / max)
                i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)
            }
            ctx.stroke()
        }
        ctx.fillStyle = palette.text
        ctx.font = "bold 18px sans-serif"
        ctx.fillText(title + ": " + format(n ? samples[n - 1] : 0) + "   (max " + format(max) + ", last " + n + " s)", 8, 22)
    }
}
