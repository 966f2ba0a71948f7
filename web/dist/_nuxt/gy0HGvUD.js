import{a1 as s}from"./B3UZoPlj.js";const t=s("/favicon.svg");export{t as _};
