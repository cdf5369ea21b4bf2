// SPDX-License-Identifier: BSD-3-Clause
// NumberBox: an editable SpinBox for codes, ports and timeouts — digits only, never locale-grouped
// ("1000", not "1,000"), typed entry checked against from…to.
import QtQuick
import QtQuick.Controls

SpinBox {
    id: box
    editable: true
    textFromValue: (value, locale) => Number(value).toString()
    valueFromText: (text, locale) => {
        const n = parseInt(text, 10)
        return isNaN(n) ? box.value : Math.max(box.from, Math.min(box.to, n))
    }
    validator: RegularExpressionValidator { regularExpression: box.from < 0 ? /-?[0-9]{0,9}/ : /[0-9]{0,9}/ }
}
