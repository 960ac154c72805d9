package htmlreport

// CloneReport is cloneReport, for the tests outside the package.
var CloneReport = cloneReport
