// The event form's currency menu: its first choice ("The city's currency") names the currency
// of the city chosen above it (data-city-currencies: city id -> ISO code, from the server).
// Without JavaScript the choice reads "The city's currency", and the server applies the same rule.
(function () {
  "use strict";
  var currency = document.querySelector("select[data-city-currencies]");
  var city = document.getElementById("city_id");
  if (!currency || !city) return;
  var codes = JSON.parse(currency.dataset.cityCurrencies);
  var first = currency.querySelector('option[value=""]');
  if (!first) return;
  var label = first.textContent;
  function show() {
    var code = codes[city.value];
    first.textContent = code ? label + " (" + code + ")" : label;
  }
  city.addEventListener("change", show);
  show();
})();
