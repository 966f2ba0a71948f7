import{a1 as s}from"./DmKwZWp0.js";const t=s("/favicon.svg");export{t as _};
