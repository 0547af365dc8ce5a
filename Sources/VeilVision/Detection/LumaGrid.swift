import VeilCore

/// Mean luma of the cells of a coarse grid over a picture's Y plane: what the motion fallback and the motion
/// trigger compare. `step` 2 reads every other row and column of each cell (a quarter of the pixels).
struct LumaGrid {
    var width = 0, height = 0, cell = 1

    /// The means, row by row (whole cells only; the right and bottom remainders are left out).
    mutating func means(of image: any YUVImage, columns: Int, step: Int) -> [Float] {
        cell = max(step, image.width / columns)
        width = image.width / cell
        height = image.height / cell
        var sums = [Float](repeating: 0, count: width * height)
        var samples = [Int](repeating: 0, count: height)
        let cell = self.cell, width = self.width, height = self.height
        image.withPlanes { planes in
            for row in stride(from: 0, to: height * cell, by: step) {
                let line = planes.y.advanced(by: row * planes.yStride)
                let base = (row / cell) * width
                samples[row / cell] += 1
                for gridColumn in 0..<width {
                    var sum = 0
                    var column = gridColumn * cell
                    while column < (gridColumn + 1) * cell {
                        sum += Int(line[column])
                        column += step
                    }
                    sums[base + gridColumn] += Float(sum)
                }
            }
        }
        let perRow = (cell + step - 1) / step
        for row in 0..<height {
            let scale = 1 / Float(max(1, samples[row] * perRow))
            for column in 0..<width { sums[row * width + column] *= scale }
        }
        return sums
    }
}
