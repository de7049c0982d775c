/* The analyst's page (filled in by the analyst page work). */
sharefab.ready(["common", "analyst"]).catch(function () {});
